import type { ResponseLaunchTemplateData } from "@aws-sdk/client-ec2";
import {
  type ContextEntry,
  GetInstanceProfileCommand,
  type IAMClient,
  type PolicyEvaluationDecisionType,
  paginateSimulatePrincipalPolicy,
} from "@aws-sdk/client-iam";
import { arnParts } from "../aws/arns.ts";
import { isAccessDenied } from "../kms/grants.ts";

/**
 * The permissions AWS checks on the target role when a rollout acts on a group, evaluated with
 * iam:SimulatePrincipalPolicy (read-only) instead of guessed from tags:
 * - the group actions (StartInstanceRefresh, UpdateAutoScalingGroup, Cancel/RollbackInstanceRefresh)
 *   on the group's ARN, with the group's real tags as aws:ResourceTag/* context: a group without
 *   the managed tag is refused only when the deployed role requires it (RequireManagedTag);
 * - what Auto Scaling checks on the caller when a refresh or an update names a launch template:
 *   ec2:RunInstances, iam:PassRole for the instance profile's role, ec2:CreateTags for the
 *   template's tag specifications (EC2 Auto Scaling user guide, "Permissions required to call
 *   Amazon EC2 Auto Scaling API actions", ec2-auto-scaling-api-permissions.html, and "Control the
 *   use of launch templates in Auto Scaling actions").
 *
 * SimulatePrincipalPolicy evaluates the role's identity policies, its permissions boundary and the
 * organization's SCPs (EvaluationResult.OrganizationsDecisionDetail, added to the API on
 * 2017-02-27) with the context given (IAM API reference, SimulatePrincipalPolicy), and only
 * statements whose resources match the ARNs given, so every request names its resource ARN. Each
 * distinct context is one call (context entries apply to every action and resource of a call).
 * Every context carries aws:RequestedRegion: a key the request would have but the simulation is not
 * given makes a negated condition true (IAM User Guide, "Condition operators"), so a region-deny
 * SCP would otherwise deny what the real call is allowed.
 */

export interface PermissionRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: readonly ContextEntry[];
}

export interface SimulatedRequest extends PermissionRequest {
  readonly decision: PolicyEvaluationDecisionType;
  /** Context keys the role's policies test that were not given (absent in the real request too). */
  readonly missingContext: readonly string[];
  /** Which layer refused, when the result says: the organization's SCPs or the role's boundary. */
  readonly deniedBy?: "an SCP of the organization" | "the role's permissions boundary";
}

/** The role may not call SimulatePrincipalPolicy (a target stack deployed before the doctor's). */
export class SimulationUnavailableError extends Error {
  override readonly name = "SimulationUnavailableError";
}

const text = (name: string, value: string): ContextEntry => ({
  ContextKeyName: name,
  ContextKeyType: "string",
  ContextKeyValues: [value],
});
const texts = (name: string, values: readonly string[]): ContextEntry => ({
  ContextKeyName: name,
  ContextKeyType: "stringList",
  ContextKeyValues: [...values],
});
const flag = (name: string, value: boolean): ContextEntry => ({
  ContextKeyName: name,
  ContextKeyType: "boolean",
  ContextKeyValues: [String(value)],
});

/** The group actions a rollout (and its cancel, pin and rollback) makes. */
export const GROUP_ACTIONS = [
  "autoscaling:StartInstanceRefresh",
  "autoscaling:UpdateAutoScalingGroup",
  "autoscaling:CancelInstanceRefresh",
  "autoscaling:RollbackInstanceRefresh",
] as const;

/** The region every request of a rollout is made in. */
const requestedRegion = (region: string) => text("aws:RequestedRegion", region);

/** The group actions on its ARN, with its tags as the resource-tag condition keys. */
export const groupRequests = (
  groupArn: string,
  tags: Readonly<Record<string, string>>,
): PermissionRequest[] => {
  const context = [
    requestedRegion(arnParts(groupArn).region),
    ...Object.entries(tags).flatMap(([key, value]) => [
      text(`aws:ResourceTag/${key}`, value),
      text(`autoscaling:ResourceTag/${key}`, value),
    ]),
  ];
  return GROUP_ACTIONS.map((action) => ({ action, resource: groupArn, context }));
};

export interface LaunchedTemplate {
  readonly launchTemplateId: string;
  readonly accountId: string;
  readonly region: string;
  /** The source version's data: the new version inherits all of it but the AMI. */
  readonly data: ResponseLaunchTemplateData;
  /** The AMI the new version launches. */
  readonly amiId: string;
  /** The instance profile's role, when the template names a profile that has one. */
  readonly instanceRoleArn?: string;
  readonly partition: string;
}

/**
 * What Auto Scaling has the caller authorised for a launch template: RunInstances on the template,
 * the instances and the image (with ec2:IsLaunchTemplateResource and ec2:LaunchTemplate), PassRole
 * of the instance role to EC2, and CreateTags at launch for each tag specification.
 */
export const launchRequests = (template: LaunchedTemplate): PermissionRequest[] => {
  const { partition, region, accountId } = template;
  const templateArn = `arn:${partition}:ec2:${region}:${accountId}:launch-template/${template.launchTemplateId}`;
  const launched = [
    requestedRegion(region),
    flag("ec2:IsLaunchTemplateResource", true),
    text("ec2:LaunchTemplate", templateArn),
  ];
  const requests: PermissionRequest[] = [
    templateArn,
    `arn:${partition}:ec2:${region}:${accountId}:instance/*`,
    `arn:${partition}:ec2:${region}::image/${template.amiId}`,
  ].map((resource) => ({ action: "ec2:RunInstances", resource, context: launched }));
  if (template.instanceRoleArn)
    requests.push({
      action: "iam:PassRole",
      resource: template.instanceRoleArn,
      context: [requestedRegion(region), text("iam:PassedToService", "ec2.amazonaws.com")],
    });
  for (const specification of template.data.TagSpecifications ?? []) {
    const tags = (specification.Tags ?? []).filter((tag) => tag.Key !== undefined);
    requests.push({
      action: "ec2:CreateTags",
      resource: `arn:${partition}:ec2:${region}:${accountId}:${specification.ResourceType ?? "instance"}/*`,
      context: [
        requestedRegion(region),
        text("ec2:CreateAction", "RunInstances"),
        texts(
          "aws:TagKeys",
          tags.map((tag) => tag.Key as string),
        ),
        ...tags.map((tag) => text(`aws:RequestTag/${tag.Key}`, tag.Value ?? "")),
      ],
    });
  }
  return requests;
};

/**
 * The role an instance profile carries (iam:GetInstanceProfile; the template names the profile by
 * Arn or Name, and the name is the ARN's last segment). Undefined for a profile without a role.
 */
export const instanceProfileRole = async (
  iam: IAMClient,
  profile: { readonly Arn?: string | undefined; readonly Name?: string | undefined },
): Promise<string | undefined> => {
  const name = profile.Name ?? profile.Arn?.split("/").at(-1) ?? "";
  const { InstanceProfile } = await iam.send(
    new GetInstanceProfileCommand({ InstanceProfileName: name }),
  );
  return InstanceProfile?.Roles?.[0]?.Arn;
};

/** Each request's decision for `roleArn`, one SimulatePrincipalPolicy call per distinct context. */
export const simulate = async (
  iam: IAMClient,
  roleArn: string,
  requests: readonly PermissionRequest[],
): Promise<SimulatedRequest[]> => {
  const byContext = new Map<string, PermissionRequest[]>();
  for (const request of requests) {
    const key = JSON.stringify(request.context);
    byContext.set(key, [...(byContext.get(key) ?? []), request]);
  }
  const decisions = new Map<string, Omit<SimulatedRequest, keyof PermissionRequest>>();
  const keyOf = (context: string, action: string, resource: string) =>
    `${context}|${action.toLowerCase()}|${resource}`;
  for (const [context, group] of byContext) {
    try {
      for await (const page of paginateSimulatePrincipalPolicy(
        { client: iam },
        {
          PolicySourceArn: roleArn,
          ActionNames: [...new Set(group.map((request) => request.action))],
          ResourceArns: [...new Set(group.map((request) => request.resource))],
          ...(group[0]?.context.length ? { ContextEntries: [...(group[0]?.context ?? [])] } : {}),
        },
      )) {
        for (const result of page.EvaluationResults ?? []) {
          const action = result.EvalActionName ?? "";
          // With ResourceArns, the decision per resource is in ResourceSpecificResults (IAM API
          // reference, EvaluationResult: "If you include a list of resources, then any missing
          // context values are instead included under the ResourceSpecificResults section"); a
          // result may carry one resource or all of them, so each entry is read on its own.
          const perResource =
            result.ResourceSpecificResults && result.ResourceSpecificResults.length > 0
              ? result.ResourceSpecificResults.map((entry) => ({
                  resource: entry.EvalResourceName ?? "",
                  decision: entry.EvalResourceDecision,
                  missing: entry.MissingContextValues,
                  boundary:
                    entry.PermissionsBoundaryDecisionDetail ??
                    result.PermissionsBoundaryDecisionDetail,
                }))
              : [
                  {
                    resource: result.EvalResourceName ?? "*",
                    decision: result.EvalDecision,
                    missing: result.MissingContextValues,
                    boundary: result.PermissionsBoundaryDecisionDetail,
                  },
                ];
          for (const entry of perResource) {
            // Which layer refused (a boundary or an SCP that does not allow an action answers
            // implicitDeny, not only explicitDeny): the boundary's verdict is per resource where
            // given, the organization's per result (IAM API model, ResourceSpecificResult).
            const deniedBy =
              entry.decision === "allowed"
                ? undefined
                : result.OrganizationsDecisionDetail?.AllowedByOrganizations === false
                  ? ("an SCP of the organization" as const)
                  : entry.boundary?.AllowedByPermissionsBoundary === false
                    ? ("the role's permissions boundary" as const)
                    : undefined;
            decisions.set(keyOf(context, action, entry.resource), {
              decision: entry.decision ?? "implicitDeny",
              missingContext: [...(entry.missing ?? [])],
              ...(deniedBy ? { deniedBy } : {}),
            });
          }
        }
      }
    } catch (error) {
      if (isAccessDenied(error))
        throw new SimulationUnavailableError(
          `${roleArn} may not call iam:SimulatePrincipalPolicy on itself (${error instanceof Error ? error.message : String(error)})`,
        );
      throw error;
    }
  }
  return requests.map((request) => {
    const context = JSON.stringify(request.context);
    const found =
      decisions.get(keyOf(context, request.action, request.resource)) ??
      decisions.get(keyOf(context, request.action, "*"));
    if (!found)
      throw new Error(
        `SimulatePrincipalPolicy returned no result for ${request.action} on ${request.resource}`,
      );
    return { ...request, ...found };
  });
};

/** What the target template's statements say, to name the one to add (templates/target-account-role.yml). */
export const TARGET_ROLE_STATEMENTS = {
  runInstances: (accountId: string, partition = "aws") => {
    const template = `arn:${partition}:ec2:*:${accountId}:launch-template/*`;
    const overridable = ["subnet", "network-interface"].map(
      (type) => `arn:${partition}:ec2:*:${accountId}:${type}/*`,
    );
    return [
      {
        Sid: "LaunchThroughTemplatesOnly",
        Effect: "Allow",
        Action: "ec2:RunInstances",
        NotResource: overridable,
        Condition: {
          ArnLike: { "ec2:LaunchTemplate": template },
          Bool: { "ec2:IsLaunchTemplateResource": "true" },
        },
      },
      {
        Sid: "LaunchThroughTemplatesInTheGroupsSubnets",
        Effect: "Allow",
        Action: "ec2:RunInstances",
        Resource: overridable,
        Condition: { ArnLike: { "ec2:LaunchTemplate": template } },
      },
    ];
  },
  createTags: (accountId: string, partition = "aws") => ({
    Sid: "TagWhatLaunchTemplatesLaunch",
    Effect: "Allow",
    Action: "ec2:CreateTags",
    Resource: ["instance", "volume", "network-interface", "spot-instances-request"].map(
      (type) => `arn:${partition}:ec2:*:${accountId}:${type}/*`,
    ),
    Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } },
  }),
  passRole: (roleArn: string) => ({
    Sid: "PassInstanceRolesToEc2",
    Effect: "Allow",
    Action: "iam:PassRole",
    Resource: roleArn,
    Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
  }),
};
