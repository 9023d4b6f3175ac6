import {
  type AutoScalingClient,
  paginateDescribeAutoScalingGroups,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateVersionCommand,
  type EC2Client,
  type ResponseLaunchTemplateData,
} from "@aws-sdk/client-ec2";
import { GetRoleCommand, type IAMClient } from "@aws-sdk/client-iam";
import { CreateGrantCommand } from "@aws-sdk/client-kms";
import {
  type DiscoveredGroup,
  defaultServiceLinkedRoleArn,
  discoverGroups,
  NAMES_PER_CALL,
} from "../auto-scaling/groups.ts";
import { arnParts } from "../aws/arns.ts";
import { TargetAccountUnreachableError } from "../aws/credentials.ts";
import type { TargetClients } from "../aws/target-clients.ts";
import type { AccountConfig, PipelineConfig } from "../config/schema.ts";
import { errorMessage, errorName } from "../errors.ts";
import {
  AUTO_SCALING_GRANT_OPERATIONS,
  describeKeyOwnership,
  findGrant,
  GrantRefusedError,
  grantName,
  isAccessDenied,
  KeyNotEnabledError,
  parseKeyArn,
  targetAccountKeyStatement,
} from "../kms/grants.ts";
import { amiEncryption } from "../kms/snapshot-keys.ts";
import { describeTemplateVersion } from "../launch-templates/versions.ts";
import type { RolloutTarget } from "../rollout/plan.ts";
import { checkGroupShapes } from "./group-shapes.ts";
import {
  GROUP_ACTIONS,
  groupRequests,
  instanceProfileRole,
  type LaunchedTemplate,
  launchRequests,
  type PermissionRequest,
  type SimulatedRequest,
  SimulationUnavailableError,
  simulate,
  TARGET_ROLE_STATEMENTS,
} from "./launch-permissions.ts";
import { type DoctorCheck, fail, pass } from "./report.ts";

/**
 * The doctor's checks of one target account and region (items 1 to 5 of `npm run doctor`), in
 * the order a rollout meets them: the role, the groups, their service-linked roles, the AMI and
 * its keys, the grants, the launch templates, and what Auto Scaling checks at the refresh. Reads,
 * DryRuns and simulations only.
 */

/** A target as the rollout plan has it; without an AMI when the image has none for it. */
export type PlannedTarget = Omit<RolloutTarget, "amiId"> & { amiId?: string };

const MANAGED_TAG = "ami-orchestrator:managed";

/** Tags and ARN of the groups, read in one call (the role may DescribeAutoScalingGroups on *). */
const describedGroups = async (
  client: AutoScalingClient,
  names: readonly string[],
): Promise<Map<string, { arn: string; tags: Record<string, string> }>> => {
  const described = new Map<string, { arn: string; tags: Record<string, string> }>();
  for (let start = 0; start < names.length; start += NAMES_PER_CALL) {
    for await (const page of paginateDescribeAutoScalingGroups(
      { client },
      { AutoScalingGroupNames: names.slice(start, start + NAMES_PER_CALL) },
    ))
      for (const group of page.AutoScalingGroups ?? [])
        described.set(group.AutoScalingGroupName ?? "", {
          arn: group.AutoScalingGroupARN ?? "",
          tags: Object.fromEntries(
            (group.Tags ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]),
          ),
        });
  }
  return described;
};

/** The role's decisions, or why they could not be simulated (an older target stack). */
const simulated = async (
  iam: IAMClient,
  roleArn: string,
  requests: readonly PermissionRequest[],
): Promise<{ results: SimulatedRequest[] } | { unavailable: string }> => {
  try {
    return { results: await simulate(iam, roleArn, requests) };
  } catch (error) {
    if (error instanceof SimulationUnavailableError) return { unavailable: error.message };
    throw error;
  }
};

const updateTargetStack = (accountId: string) =>
  `update the target stack in ${accountId} (templates/target-account-role.yml, statements DoctorReadsItsOwnPermissions and DoctorReadsInstanceProfiles: iam:SimulatePrincipalPolicy on the role itself, iam:GetInstanceProfile)`;

/**
 * What brings a key back to Enabled, by its state (KMS API model, KeyState; CancelKeyDeletion
 * leaves a key Disabled), run in the key's account and region: the CLI would otherwise send a key
 * ARN to its default region, which answers NotFoundException.
 */
const keyStateFix = (state: string, keyArn: string, keyRegion: string, keyAccount: string) => {
  const kms = (command: string) => `aws kms ${command} --region ${keyRegion} --key-id ${keyArn}`;
  const restore: Record<string, string> = {
    Disabled: kms("enable-key"),
    PendingDeletion: `${kms("cancel-key-deletion")} && ${kms("enable-key")}`,
    PendingImport: `import the key material (${kms("get-parameters-for-import")}, then aws kms import-key-material)`,
    Unavailable: "reconnect its custom key store (aws kms connect-custom-key-store)",
  };
  return `in account ${keyAccount}: ${restore[state] ?? `wait until the key is Enabled (it is ${state})`}`;
};

/**
 * Context keys the role's policies test that the simulation could not be given: an allowed
 * decision then still depends on them (a Deny on a key that is absent does not fire).
 */
const untestedKeys = (results: readonly SimulatedRequest[]): string => {
  const keys = [...new Set(results.flatMap((result) => result.missingContext))];
  return keys.length > 0
    ? ` (the policies also test ${keys.join(", ")}, which the simulation was not given: check them by hand)`
    : "";
};

/** Refused by a layer the target stack does not own: an SCP, the boundary, or an explicit deny. */
const refusedOutsideTheStack = (request: SimulatedRequest) =>
  request.deniedBy !== undefined || request.decision === "explicitDeny";

/** Which layer refuses, as far as the simulation says, and what to change there. */
const outsideTheStackFix = (refused: readonly SimulatedRequest[], roleArn: string): string => {
  const denied = refused.filter(refusedOutsideTheStack);
  const actions = [...new Set(denied.map((request) => request.action))].join(", ");
  const layers = [...new Set(denied.flatMap((request) => request.deniedBy ?? []))];
  const missing = [...new Set(denied.flatMap((request) => request.missingContext))];
  return `${layers.length > 0 ? layers.join(" and ") : "a policy outside the target stack (or its permissions boundary, or an SCP)"} does not allow ${actions} to ${roleArn}: allow it there${missing.length > 0 ? ` (its conditions test ${missing.join(", ")}, which the simulation could not be given: check them by hand)` : ""}`;
};

/** "ec2:CreateTags on instance/*, volume/* (implicitDeny)": refused requests by action and decision. */
const refusedText = (refused: readonly SimulatedRequest[]) => {
  const byAction = new Map<string, string[]>();
  for (const request of refused) {
    const key = `${request.action}|${request.decision}`;
    byAction.set(key, [...(byAction.get(key) ?? []), request.resource]);
  }
  return [...byAction]
    .map(([key, resources]) => {
      const [action, decision] = key.split("|");
      return `${action} on ${resources.join(", ")} (${decision})`;
    })
    .join("; ");
};

/** What every step of one target's checks works with. */
interface TargetContext {
  readonly target: PlannedTarget;
  readonly account: AccountConfig;
  readonly pipeline: PipelineConfig;
  readonly clients: TargetClients;
  readonly region: string;
  readonly accountId: string;
  /** The target role, whose permissions are simulated. */
  readonly roleArn: string;
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
}

/** 1 and 2: the role can be assumed, and the groups, as a rollout selects them. No groups: stop. */
const checkGroups = async (
  context: TargetContext,
): Promise<{ checks: DoctorCheck[]; groups?: DiscoveredGroup[] }> => {
  const { target, account, pipeline, region, accountId, roleArn, autoScaling, iam } = context;
  const checks: DoctorCheck[] = [];
  const selector = pipeline.rollout?.autoScalingGroups ?? {};
  // The first call in the account assumes the role (with the ExternalId).
  let groups: DiscoveredGroup[];
  try {
    const discovery = await discoverGroups(autoScaling, selector);
    checks.push(pass("assume role", `${roleArn} with the configured ExternalId`));
    groups = discovery.groups;
    // 2. The groups, as a rollout would select them, and whether the role may act on each
    // (simulated with the group's real tags: the managed tag matters only where the role
    // requires it).
    const described = await describedGroups(
      autoScaling,
      groups.map((group) => group.name),
    );
    const simulation = await simulated(
      iam,
      roleArn,
      groups.flatMap((group) => {
        const found = described.get(group.name);
        return found ? groupRequests(found.arn, found.tags) : [];
      }),
    ).catch((error: unknown) => ({ unavailable: errorMessage(error) }));
    for (const group of groups) {
      const template = group.launchTemplate;
      const detail = `launch template ${template?.launchTemplateId ?? template?.launchTemplateName} @ ${template?.version}${group.mixedInstancesPolicy ? " (mixed instances policy)" : ""}`;
      const found = described.get(group.name);
      const tagged = found?.tags[MANAGED_TAG] === "true";
      const tagFix = `in account ${accountId}: aws autoscaling create-or-update-tags --region ${region} --tags ResourceId=${group.name},ResourceType=auto-scaling-group,Key=${MANAGED_TAG},Value=true,PropagateAtLaunch=false`;
      const check = `group ${group.name}`;
      if ("unavailable" in simulation) {
        // Not simulated: the tag is all we can see. Untagged is refused by a role deployed with
        // RequireManagedTag=true (the default); the launch check says the simulation is missing.
        checks.push(
          tagged
            ? pass(check, `${detail}; tagged ${MANAGED_TAG}=true (not simulated)`)
            : fail(
                check,
                `${detail}; not tagged ${MANAGED_TAG}=true, which a target role deployed with RequireManagedTag=true (the default) requires; whether this one does could not be simulated: ${simulation.unavailable}`,
                `${tagFix} (or ${updateTargetStack(accountId)}, and run the doctor again)`,
              ),
        );
        continue;
      }
      const refused = simulation.results.filter(
        (request) => request.resource === found?.arn && request.decision !== "allowed",
      );
      if (refused.length === 0) {
        checks.push(
          pass(
            check,
            `${detail}; the target role may refresh and update it${tagged ? "" : ` (not tagged ${MANAGED_TAG}=true: this role does not require it)`}${untestedKeys(simulation.results.filter((request) => request.resource === found?.arn))}`,
          ),
        );
        continue;
      }
      const tagMissing =
        !tagged &&
        (found?.tags[MANAGED_TAG] !== undefined ||
          refused.some((request) =>
            request.missingContext.some((key) =>
              key.toLowerCase().endsWith(`resourcetag/${MANAGED_TAG}`),
            ),
          ));
      checks.push(
        fail(
          check,
          `${detail}; the target role may not ${[...new Set(refused.map((request) => request.action.replace("autoscaling:", "")))].join(", ")} on it (${[...new Set(refused.map((request) => request.decision))].join(", ")})${tagMissing ? `: it is not tagged ${MANAGED_TAG}=true, which the role requires (RequireManagedTag=true)` : ""}`,
          tagMissing
            ? tagFix
            : refused.some(refusedOutsideTheStack)
              ? outsideTheStackFix(refused, roleArn)
              : `${updateTargetStack(accountId)}: its statement InstanceRefreshes allows ${GROUP_ACTIONS.join(", ")} on the account's groups`,
        ),
      );
    }
    for (const group of discovery.unsupported)
      checks.push(
        fail(
          `group ${group.name}`,
          group.reason,
          "use a launch template (aws autoscaling update-auto-scaling-group --launch-template ...), or leave the group out of the selection",
        ),
      );
    for (const name of discovery.missing)
      checks.push(
        fail(
          `group ${name}`,
          `no group named ${name} in ${accountId}/${region}`,
          `create it, or remove it from pipelines[${pipeline.name}].rollout.autoScalingGroups.names`,
        ),
      );
    if (groups.length + discovery.unsupported.length + discovery.missing.length === 0)
      checks.push(
        fail(
          "groups",
          `no group matches ${JSON.stringify(selector)} in ${accountId}/${region}`,
          `tag the groups ${Object.entries(selector.tags ?? {})
            .map(([key, value]) => `${key}=${value}`)
            .join(", ")}, or remove ${region} from the wave`,
        ),
      );
  } catch (error) {
    if (error instanceof TargetAccountUnreachableError || /AssumeRole/.test(errorMessage(error))) {
      checks.push(
        fail(
          "assume role",
          errorMessage(error),
          `deploy templates/target-account-role.yml in ${accountId} with RoleName=${account.roleName}, OrchestratorAccountId set to this account, the deployed stage, and ExternalId equal to accounts.${target.account}.externalId`,
        ),
      );
      return { checks };
    }
    checks.push(fail("groups", errorMessage(error), "allow autoscaling:DescribeAutoScalingGroups"));
    return { checks };
  }
  return { checks, groups };
};

/** Each group's service-linked role (or the account's default one) exists. */
const checkServiceLinkedRoles = async (
  { iam, accountId }: TargetContext,
  groups: readonly DiscoveredGroup[],
): Promise<{ checks: DoctorCheck[]; roles: string[] }> => {
  const checks: DoctorCheck[] = [];
  /** The roles a grant can be checked for: a missing one is reported here, not again per key. */
  const existing: string[] = [];
  const roles = [
    ...new Set(
      groups.map((group) => group.serviceLinkedRoleArn ?? defaultServiceLinkedRoleArn(accountId)),
    ),
  ];
  for (const roleArn of roles) {
    const roleName = roleArn.split("/").at(-1) ?? roleArn;
    try {
      await iam.send(new GetRoleCommand({ RoleName: roleName }));
      checks.push(pass(`service-linked role ${roleName}`, "exists"));
      existing.push(roleArn);
    } catch (error) {
      if (errorName(error) !== "NoSuchEntityException") existing.push(roleArn);
      // Custom suffixes may contain underscores themselves (IAM API model, CustomSuffix).
      const suffix = roleName.includes("_") ? roleName.slice(roleName.indexOf("_") + 1) : "";
      checks.push(
        errorName(error) === "NoSuchEntityException"
          ? fail(
              `service-linked role ${roleName}`,
              `${roleArn} does not exist: grants to it fail and the groups cannot launch`,
              `in account ${accountId}: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com${suffix ? ` --custom-suffix ${suffix}` : ""}`,
            )
          : fail(`service-linked role ${roleName}`, errorMessage(error), "allow iam:GetRole on it"),
      );
    }
  }
  return { checks, roles: existing };
};

/** 3. The AMI this target would launch is there, and which keys encrypt its snapshots. */
const checkAmi = async (
  { target, clients, ec2, region, accountId }: TargetContext,
  amiId: string,
): Promise<{ checks: DoctorCheck[]; keyArns: readonly string[] }> => {
  const checks: DoctorCheck[] = [];
  let keyArns: readonly string[] = [];
  try {
    const encryption = await amiEncryption(amiId, {
      target: ec2,
      targetAccountId: accountId,
      owner: (ownerId) => clients.ownerEc2(ownerId, region),
    });
    keyArns = encryption.keyArns;
    checks.push(
      pass(
        "AMI",
        `${amiId} ${target.sharedFrom ? `shared from ${target.sharedFrom}` : "copied here"}; keys: ${keyArns.join(", ") || "none"}`,
      ),
    );
  } catch (error) {
    checks.push(
      fail(
        "AMI",
        errorMessage(error),
        "check the distribution configuration (the AMI must be copied to, or shared with, this account)",
      ),
    );
  }

  return { checks, keyArns };
};

const checkGrants = async (
  { account, clients, region, accountId }: TargetContext,
  keyArns: readonly string[],
  roles: readonly string[],
): Promise<DoctorCheck[]> => {
  const checks: DoctorCheck[] = [];
  // KMS, for each key × role, as roll-out-target does it: the key first (an AWS managed key
  // needs no grant and can have none; a key that is not Enabled cannot launch anything), then a
  // grant already there (ListGrants), else would CreateGrant succeed (DryRun).
  for (const keyArn of keyArns) {
    const keyRegion = parseKeyArn(keyArn)?.region ?? region;
    const kms = clients.kms(account, keyRegion);
    const keyId = keyArn.split("/").at(-1);
    const keyAccount = parseKeyArn(keyArn)?.accountId ?? "?";
    const keyPolicyFix = `add to the key policy of ${keyArn} (account ${keyAccount}): ${targetAccountKeyStatement(accountId)}; and list the key in the target stack's KmsKeyArns`;
    try {
      if ((await describeKeyOwnership(kms, keyArn, accountId)) === "aws-managed") {
        checks.push(pass(`grant ${keyId}`, `${keyArn} is an AWS managed key: no grant needed`));
        continue;
      }
    } catch (error) {
      if (error instanceof GrantRefusedError)
        checks.push(
          fail(
            `grant ${keyId}`,
            `kms:DescribeKey refused for account ${accountId}: ${errorMessage(error.cause)}`,
            keyPolicyFix,
          ),
        );
      else if (error instanceof KeyNotEnabledError)
        checks.push(
          fail(
            `grant ${keyId}`,
            errorMessage(error),
            keyStateFix(error.keyState, keyArn, keyRegion, keyAccount),
          ),
        );
      else throw error;
      continue;
    }
    if (roles.length === 0)
      checks.push(
        pass(
          `grant ${keyId}`,
          "the key can be described; no grant checked: no service-linked role exists yet (above)",
        ),
      );
    for (const grantee of roles) {
      const check = `grant ${keyId} → ${grantee.split("/").at(-1)}`;
      // Refused ListGrants is reported, then the dry run still says whether a grant would work.
      let listRefused: string | undefined;
      try {
        const grant = await findGrant(kms, keyArn, grantee);
        if (grant) {
          checks.push(pass(check, `grant exists (${grant.Name || grant.GrantId})`));
          continue;
        }
      } catch (error) {
        if (!isAccessDenied(error)) throw error;
        listRefused = errorMessage(error);
      }
      const listing = listRefused
        ? `ListGrants refused (${listRefused}): whether a grant exists is unknown, and explain-launch-failure cannot tell a missing one`
        : "no grant yet";
      try {
        await kms.send(
          new CreateGrantCommand({
            KeyId: keyArn,
            GranteePrincipal: grantee,
            Operations: [...AUTO_SCALING_GRANT_OPERATIONS],
            Name: grantName(keyArn, grantee),
            DryRun: true,
          }),
        );
        // With DryRun, AWS answers DryRunOperationException when it would succeed: a plain
        // success means the flag was not honoured and a grant may exist now. Said loudly.
        checks.push(
          fail(
            check,
            "CreateGrant answered without DryRunOperationException: a grant may have been created",
            `check the grants on ${keyArn} (aws kms list-grants --region ${keyRegion} --key-id ${keyArn})`,
          ),
        );
      } catch (error) {
        if (errorName(error) !== "DryRunOperationException")
          checks.push(fail(check, `${errorMessage(error)}; ${listing}`, keyPolicyFix));
        else if (listRefused)
          checks.push(
            fail(
              check,
              `${listing}; CreateGrant would succeed (DryRun)`,
              `allow account ${accountId} kms:ListGrants in the key policy of ${keyArn} (account ${keyAccount}): ${targetAccountKeyStatement(accountId)}; the target stack's role allows it on its KmsKeyArns (update the stack if it predates it)`,
            ),
          );
        else checks.push(pass(check, `${listing}; CreateGrant would succeed (DryRun)`));
      }
    }
  }
  return checks;
};

const checkTemplates = async (
  { ec2, region, accountId }: TargetContext,
  groups: readonly DiscoveredGroup[],
  amiId: string,
): Promise<{ checks: DoctorCheck[]; sources: Map<string, ResponseLaunchTemplateData> }> => {
  const checks: DoctorCheck[] = [];
  // 4. One new launch-template version per template (DryRun: IAM and the managed tag checked).
  const templates = new Map<string, DiscoveredGroup>();
  for (const group of groups)
    templates.set(
      `${group.launchTemplate?.launchTemplateId ?? group.launchTemplate?.launchTemplateName}@${group.launchTemplate?.version}`,
      group,
    );
  /** The versions new ones would be made from, by template id: what step 5 launches. */
  const sources = new Map<string, ResponseLaunchTemplateData>();
  for (const group of templates.values()) {
    const reference = group.launchTemplate;
    if (!reference) continue;
    const label = `template ${reference.launchTemplateId ?? reference.launchTemplateName}`;
    // create-tags takes the template's id, never its name.
    let templateId = reference.launchTemplateId ?? reference.launchTemplateName;
    try {
      const source = await describeTemplateVersion(ec2, reference);
      templateId = source.LaunchTemplateId;
      sources.set(source.LaunchTemplateId, source.LaunchTemplateData ?? {});
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: source.LaunchTemplateId,
          SourceVersion: String(source.VersionNumber),
          LaunchTemplateData: { ImageId: amiId },
          DryRun: true,
        }),
      );
      // With DryRun, EC2 answers DryRunOperation when it would succeed: a plain success means
      // the flag was not honoured and a version may exist now. Said loudly, as for the grant.
      checks.push(
        fail(
          label,
          "CreateLaunchTemplateVersion answered without DryRunOperation: a version may have been created",
          `check the versions of ${templateId} (aws ec2 describe-launch-template-versions --region ${region} --launch-template-id ${templateId})`,
        ),
      );
    } catch (error) {
      if (errorName(error) === "DryRunOperation")
        checks.push(
          pass(label, `version ${reference.version} → new version would be created (DryRun)`),
        );
      else if (errorName(error) === "UnauthorizedOperation")
        checks.push(
          fail(
            label,
            `the target role may not create versions of it: ${errorMessage(error)}`,
            `if the template is not tagged ${MANAGED_TAG}=true, in account ${accountId}: aws ec2 create-tags --region ${region} --resources ${templateId} --tags Key=${MANAGED_TAG},Value=true (or deploy the target stack with RequireManagedTag=false); if it is, the launch check below names what refuses`,
          ),
        );
      else
        checks.push(
          fail(label, errorMessage(error), "point the group at an existing template version"),
        );
    }
  }

  return { checks, sources };
};

/** Step 5 for one template: one line, ✗ with the statement to add for each refused request. */
const checkLaunchPermissions = async (
  iam: IAMClient,
  roleArn: string,
  template: Omit<LaunchedTemplate, "instanceRoleArn">,
): Promise<DoctorCheck> => {
  const label = `launch ${template.launchTemplateId}`;
  const { accountId, partition } = template;
  const profile = template.data.IamInstanceProfile;
  let instanceRoleArn: string | undefined;
  if (profile?.Arn || profile?.Name) {
    const name = profile.Name ?? profile.Arn?.split("/").at(-1);
    try {
      instanceRoleArn = await instanceProfileRole(iam, profile);
    } catch (error) {
      if (errorName(error) === "NoSuchEntityException")
        return fail(
          label,
          `the template's instance profile ${name} does not exist: every launch from it fails`,
          `create the instance profile ${name} (with its role) in ${accountId}, or point the template at an existing one`,
        );
      if (isAccessDenied(error))
        return fail(
          label,
          `could not be checked: the role may not read instance profile ${name} (${errorMessage(error)})`,
          updateTargetStack(accountId),
        );
      throw error;
    }
  }
  const requests = launchRequests({
    ...template,
    ...(instanceRoleArn ? { instanceRoleArn } : {}),
  });
  const simulation = await simulated(iam, roleArn, requests);
  if ("unavailable" in simulation)
    return fail(
      label,
      `could not be checked (ec2:RunInstances, iam:PassRole, ec2:CreateTags, which Auto Scaling checks when the refresh starts): ${simulation.unavailable}`,
      updateTargetStack(accountId),
    );
  const refused = simulation.results.filter((request) => request.decision !== "allowed");
  const tagged = [
    ...new Set((template.data.TagSpecifications ?? []).map((spec) => spec.ResourceType)),
  ];
  if (refused.length === 0)
    return pass(
      label,
      `ec2:RunInstances${instanceRoleArn ? `, iam:PassRole ${instanceRoleArn}` : ""}${tagged.length > 0 ? `, ec2:CreateTags at launch (${tagged.join(", ")})` : ""} allowed to ${roleArn} (SimulatePrincipalPolicy)${untestedKeys(simulation.results)}`,
    );
  // The stack's own statements are named only for what no other layer refuses.
  const actions = new Set(
    refused.filter((request) => !refusedOutsideTheStack(request)).map((request) => request.action),
  );
  const addTo = (statement: object) =>
    `add to ${roleArn} (policy ami-orchestrator-rollout: update the target stack in ${accountId}): ${JSON.stringify(statement)}`;
  const fixes = [
    ...(refused.some(refusedOutsideTheStack) ? [outsideTheStackFix(refused, roleArn)] : []),
    ...(actions.has("ec2:RunInstances")
      ? [addTo(TARGET_ROLE_STATEMENTS.runInstances(accountId, partition))]
      : []),
    ...(actions.has("iam:PassRole") && instanceRoleArn
      ? [
          `add ${instanceRoleArn} to the target stack's InstanceRoleArns parameter in ${accountId} (statement ${JSON.stringify(TARGET_ROLE_STATEMENTS.passRole(instanceRoleArn))})`,
        ]
      : []),
    ...(actions.has("ec2:CreateTags")
      ? [addTo(TARGET_ROLE_STATEMENTS.createTags(accountId, partition))]
      : []),
  ];
  return fail(
    label,
    `Auto Scaling would refuse StartInstanceRefresh and UpdateAutoScalingGroup with this template: ${roleArn} may not ${refusedText(refused)}`,
    fixes.join("; "),
  );
};

/** All checks of one target, in the order a rollout would meet them; stops where it must. */
export const checkTarget = async (
  target: PlannedTarget,
  account: AccountConfig,
  pipeline: PipelineConfig,
  clients: TargetClients,
  /** The latest image, when there is one: how each group would be rolled depends on it. */
  imageArn?: string,
): Promise<DoctorCheck[]> => {
  const { region, accountId } = target;
  const { partition } = arnParts(pipeline.arn);
  const roleArn = `arn:${partition}:iam::${accountId}:role/${account.roleName}`;
  const context: TargetContext = {
    target,
    account,
    pipeline,
    clients,
    region,
    accountId,
    roleArn,
    autoScaling: clients.autoScaling(account, region),
    ec2: clients.ec2(account, region),
    iam: clients.iam(account),
  };
  const checks: DoctorCheck[] = [];
  /** One step's checks; an error nobody expected is that step's ✗, and the next steps still run. */
  const step = async <T>(
    name: string,
    run: () => Promise<{ checks: readonly DoctorCheck[] } & T>,
  ): Promise<T | undefined> => {
    try {
      const result = await run();
      checks.push(...result.checks);
      return result;
    } catch (error) {
      checks.push(fail(name, errorMessage(error), "see the error: the step could not finish"));
      return undefined;
    }
  };
  const groups = (await step("groups", () => checkGroups(context)))?.groups;
  if (!groups) return checks;
  const roles = (await step("service-linked role", () => checkServiceLinkedRoles(context, groups)))
    ?.roles;
  // 3 to 5 are about the AMI this target would launch.
  const { amiId } = target;
  if (!amiId) {
    checks.push(
      fail(
        "AMI",
        `the latest image has no AMI for ${accountId}/${region}`,
        `add ${accountId} to the distribution configuration of ${pipeline.name} in ${region} (targetAccountIds, or a launchPermission)`,
      ),
    );
    return checks;
  }
  const ami = await step("AMI", () => checkAmi(context, amiId));
  await step("grants", async () => ({
    checks: await checkGrants(context, ami?.keyArns ?? [], roles ?? []),
  }));
  const templates = await step("templates", () => checkTemplates(context, groups, amiId));
  if (imageArn)
    await step("group shapes", () =>
      checkGroupShapes(
        context.ec2,
        pipeline,
        groups,
        { amiId, imageArn },
        templates?.sources ?? new Map(),
      ),
    );
  // 5. What Auto Scaling checks on the role when the refresh names the new version: RunInstances,
  // PassRole for the instance profile's role, CreateTags for the tag specifications.
  for (const [launchTemplateId, data] of templates?.sources ?? [])
    await step(`launch ${launchTemplateId}`, async () => ({
      checks: [
        await checkLaunchPermissions(context.iam, roleArn, {
          launchTemplateId,
          accountId,
          region,
          data,
          amiId,
          partition,
        }),
      ],
    }));
  return checks;
};
