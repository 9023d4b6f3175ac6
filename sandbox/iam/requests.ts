import { parseCloudFormationYaml } from "../../lib/deployment/cloudformation.ts";
import type { CallContext } from "../model/faults.ts";
import type { SandboxWorld } from "../model/world.ts";

/**
 * What AWS authorises for one API call: one or more (action, resource, condition keys) requests,
 * including the implicit ones (Auto Scaling checking the caller's launch permissions). Resource
 * ARNs and condition keys follow the Service Authorization Reference of each service
 * (docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
 */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  /** The account that owns the resource (decides same- or cross-account evaluation). */
  readonly resourceAccount: string;
  readonly context: Record<string, string | string[]>;
  /** Why this request is made, when it is not the call's own action. */
  readonly implicitFor?: string;
}

export interface OperationRequests {
  readonly requests: AuthorizationRequest[];
  /** What the sandbox could not know offline, reported rather than assumed. */
  readonly notes: string[];
}

const accountOfArn = (arn: string, fallback: string) => arn.split(":")[4] || fallback;

const tagContext = (tags: Record<string, string> | undefined, prefixes: string[]) =>
  Object.fromEntries(
    Object.entries(tags ?? {}).flatMap(([key, value]) =>
      prefixes.map((prefix) => [`${prefix}/${key}`, value]),
    ),
  );

/** aws:RequestTag/${key} and aws:TagKeys for the tags a request applies. */
const requestTags = (tags: unknown): Record<string, string | string[]> => {
  const map = (tags ?? {}) as Record<string, string>;
  if (Object.keys(map).length === 0) return {};
  return { "aws:TagKeys": Object.keys(map), ...tagContext(map, ["aws:RequestTag"]) };
};

/** The ARN of what an Image Builder Create call would create. */
const createdImageBuilderArn = (call: CallContext): string => {
  const { input, region, accountId } = call;
  const name = String(input.name ?? "")
    .toLowerCase()
    .replace(/ /g, "-");
  const base = `arn:aws:imagebuilder:${region}:${accountId}`;
  switch (call.operation) {
    case "CreateComponent":
      return `${base}:component/${name}/${String(input.semanticVersion)}/*`;
    case "CreateImageRecipe":
      return `${base}:image-recipe/${name}/${String(input.semanticVersion)}`;
    case "CreateInfrastructureConfiguration":
      return `${base}:infrastructure-configuration/${name}`;
    case "CreateDistributionConfiguration":
      return `${base}:distribution-configuration/${name}`;
    default:
      return `${base}:image-pipeline/${name}`;
  }
};

/** The resource types a template body declares (cloudformation:ResourceTypes), if it parses. */
const templateResourceTypes = (body: unknown): string[] => {
  if (typeof body !== "string") return [];
  try {
    const template = parseCloudFormationYaml(body) as {
      Resources?: Record<string, { Type?: string }>;
    };
    return [...new Set(Object.values(template.Resources ?? {}).map((r) => String(r.Type)))];
  } catch {
    return [];
  }
};

/** A stack's id (ARN), or the id a stack of that name would get (CreateChangeSet on a new stack). */
const stackArnFor = (world: SandboxWorld, call: CallContext, nameOrId: string): string =>
  nameOrId.startsWith("arn:")
    ? nameOrId
    : world.cloudFormation.stackArn(call.accountId, call.region, nameOrId);

/** A deterministic stand-in for the group's UUID in its ARN. */
const groupId = (name: string) => {
  let hash = 0;
  for (const char of name) hash = (hash * 33 + char.charCodeAt(0)) >>> 0;
  const hex = hash.toString(16).padStart(8, "0");
  return `${hex}-0000-4000-8000-${hex}0000`;
};

interface TemplateSpec {
  LaunchTemplateId?: string;
  LaunchTemplateName?: string;
  Version?: string;
}

/**
 * Auto Scaling checks that whoever sets a group's launch template could launch it:
 * ec2:RunInstances, iam:PassRole for its instance profile, ec2:CreateTags for its tag
 * specifications. Sources: EC2 Auto Scaling User Guide, "Permissions required to call Amazon EC2
 * Auto Scaling API actions" (ec2-auto-scaling-api-permissions.html) and "Control the use of launch
 * templates in Auto Scaling actions" (ec2-auto-scaling-launch-template-permissions.html).
 */
const launchPermissions = (
  world: SandboxWorld,
  call: CallContext,
  spec: TemplateSpec | undefined,
  reason: string,
  notes: string[],
): AuthorizationRequest[] => {
  if (!spec) return [];
  const partition = "aws";
  let template: ReturnType<SandboxWorld["ec2"]["findTemplate"]> | undefined;
  try {
    template = world.ec2.findTemplate(call, spec as Record<string, unknown>);
  } catch {
    return []; // the operation itself reports the missing template
  }
  const version = world.ec2.resolveVersion(template, spec.Version ?? "$Default");
  const data = (version?.data ?? {}) as Record<string, unknown>;
  const templateArn = `arn:${partition}:ec2:${call.region}:${call.accountId}:launch-template/${template.id}`;
  const launched = { "ec2:IsLaunchTemplateResource": "true", "ec2:LaunchTemplate": templateArn };
  const requests: AuthorizationRequest[] = [
    {
      action: "ec2:RunInstances",
      resource: templateArn,
      resourceAccount: call.accountId,
      context: launched,
      implicitFor: reason,
    },
    {
      action: "ec2:RunInstances",
      resource: `arn:${partition}:ec2:${call.region}:${call.accountId}:instance/*`,
      resourceAccount: call.accountId,
      context: launched,
      implicitFor: reason,
    },
  ];
  if (typeof data.ImageId === "string")
    requests.push({
      action: "ec2:RunInstances",
      resource: `arn:${partition}:ec2:${call.region}::image/${data.ImageId}`,
      resourceAccount: call.accountId,
      context: launched,
      implicitFor: reason,
    });
  const profile = data.IamInstanceProfile as { Arn?: string; Name?: string } | undefined;
  if (profile) {
    // The profile's role is what EC2 receives: iam:PassRole on it, passed to EC2 (IAM User Guide,
    // "Using an IAM role to grant permissions to applications running on Amazon EC2 instances").
    // A profile that does not exist has no role to pass: the launch itself fails later.
    const name = profile.Name ?? profile.Arn?.split("/").at(-1) ?? "";
    const role = world.iam.instanceProfileRole(call.accountId, name);
    if (role === undefined)
      notes.push(`iam:PassRole: instance profile ${name} is not modelled, no role checked`);
    if (role)
      requests.push({
        action: "iam:PassRole",
        resource: role,
        resourceAccount: call.accountId,
        context: { "iam:PassedToService": "ec2.amazonaws.com" },
        implicitFor: reason,
      });
  }
  const tagSpecifications = (data.TagSpecifications ?? []) as Array<{
    ResourceType?: string;
    Tags?: Array<{ Key: string; Value: string }>;
  }>;
  for (const specification of tagSpecifications) {
    const tags = Object.fromEntries((specification.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    requests.push({
      action: "ec2:CreateTags",
      resource: `arn:${partition}:ec2:${call.region}:${call.accountId}:${specification.ResourceType ?? "instance"}/*`,
      resourceAccount: call.accountId,
      context: {
        "ec2:CreateAction": "RunInstances",
        "aws:TagKeys": Object.keys(tags),
        ...tagContext(tags, ["aws:RequestTag"]),
      },
      implicitFor: reason,
    });
  }
  return requests;
};

/** The requests one call makes AWS authorise. */
export const requestsFor = (world: SandboxWorld, call: CallContext): OperationRequests => {
  const { input, region, accountId } = call;
  const notes: string[] = [];
  const one = (
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
  ): OperationRequests => ({
    requests: [{ action, resource, resourceAccount: accountOfArn(resource, accountId), context }],
    notes,
  });
  const key = `${call.service}:${call.operation}`;
  switch (key) {
    // No permission is needed to call GetCallerIdentity (STS API reference).
    case "sts:GetCallerIdentity":
      return { requests: [], notes };
    case "sts:AssumeRole":
      return one("sts:AssumeRole", String(input.RoleArn), {
        ...(input.ExternalId !== undefined ? { "sts:ExternalId": String(input.ExternalId) } : {}),
        "sts:RoleSessionName": String(input.RoleSessionName),
      });

    case "iam:GetRole": {
      const name = String(input.RoleName);
      const path = name.startsWith("AWSServiceRoleFor")
        ? "aws-service-role/autoscaling.amazonaws.com/"
        : "";
      return one("iam:GetRole", `arn:aws:iam::${accountId}:role/${path}${name}`);
    }
    // Service Authorization Reference, IAM: SimulatePrincipalPolicy takes the simulated entity
    // (user, group or role) as its resource; GetInstanceProfile the instance profile,
    // arn:${Partition}:iam::${Account}:instance-profile/${InstanceProfileNameWithPath}.
    case "iam:SimulatePrincipalPolicy":
      return one(key, String(input.PolicySourceArn));
    case "iam:GetInstanceProfile":
      return one(
        key,
        `arn:aws:iam::${accountId}:instance-profile/${String(input.InstanceProfileName)}`,
      );
    case "iam:CreateServiceLinkedRole": {
      const service = String(input.AWSServiceName);
      const suffix = input.CustomSuffix ? `_${String(input.CustomSuffix)}` : "";
      return one(
        "iam:CreateServiceLinkedRole",
        `arn:aws:iam::${accountId}:role/aws-service-role/${service}/AWSServiceRoleForAutoScaling${suffix}`,
        { "iam:AWSServiceName": service },
      );
    }

    // The Service Authorization Reference gives kms:ListGrants the key resource type.
    case "kms:ListGrants": {
      const keyId = String(input.KeyId ?? "");
      const keyArn = keyId.startsWith("arn:")
        ? keyId
        : `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
      return one("kms:ListGrants", keyArn, { "kms:CallerAccount": accountId });
    }
    case "kms:DescribeKey":
    case "kms:CreateGrant": {
      const keyId = String(input.KeyId ?? "");
      const keyArn = keyId.startsWith("arn:")
        ? keyId
        : `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
      if (call.operation === "DescribeKey") return one("kms:DescribeKey", keyArn);
      const constraints = input.Constraints as Record<string, unknown> | undefined;
      return one("kms:CreateGrant", keyArn, {
        "kms:CallerAccount": accountId,
        "kms:GrantOperations": (input.Operations as string[] | undefined) ?? [],
        // Our code calls CreateGrant itself, never an AWS service on its behalf.
        "kms:GrantIsForAWSResource": "false",
        ...(input.GranteePrincipal
          ? { "kms:GranteePrincipal": String(input.GranteePrincipal) }
          : {}),
        ...(input.RetiringPrincipal
          ? { "kms:RetiringPrincipal": String(input.RetiringPrincipal) }
          : {}),
        ...(constraints ? { "kms:GrantConstraintType": Object.keys(constraints)[0] ?? "" } : {}),
      });
    }

    case "ec2:CreateLaunchTemplateVersion":
    case "ec2:ModifyLaunchTemplate":
    case "ec2:DeleteLaunchTemplateVersions": {
      let id = String(input.LaunchTemplateId ?? input.LaunchTemplateName ?? "");
      let tags: Record<string, string> | undefined;
      try {
        const template = world.ec2.findTemplate(call, input);
        id = template.id;
        tags = template.tags;
      } catch {
        notes.push(`${key}: launch template ${id} not found, checked without its tags`);
      }
      return one(key, `arn:aws:ec2:${region}:${accountId}:launch-template/${id}`, {
        ...tagContext(tags, ["aws:ResourceTag", "ec2:ResourceTag"]),
      });
    }

    case "autoscaling:StartInstanceRefresh":
    case "autoscaling:CancelInstanceRefresh":
    case "autoscaling:RollbackInstanceRefresh":
    case "autoscaling:UpdateAutoScalingGroup": {
      const name = String(input.AutoScalingGroupName);
      const group = world.autoScaling.groups.get(`${accountId}|${region}|${name}`);
      const own = one(
        key,
        `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:${groupId(name)}:autoScalingGroupName/${name}`,
        tagContext(group?.tags, ["aws:ResourceTag", "autoscaling:ResourceTag"]),
      );
      const desired = (
        call.operation === "StartInstanceRefresh" ? (input.DesiredConfiguration ?? {}) : input
      ) as {
        LaunchTemplate?: TemplateSpec;
        MixedInstancesPolicy?: { LaunchTemplate?: { LaunchTemplateSpecification?: TemplateSpec } };
      };
      const spec =
        desired.LaunchTemplate ??
        desired.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification ??
        // A refresh without a desired configuration launches the group's own template.
        (call.operation === "StartInstanceRefresh"
          ? (group?.launchTemplate ??
            group?.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification)
          : undefined);
      return {
        requests: [...own.requests, ...launchPermissions(world, call, spec, key, notes)],
        notes,
      };
    }

    case "imagebuilder:GetImagePipeline":
    case "imagebuilder:ListImagePipelineImages":
    case "imagebuilder:UpdateImagePipeline":
    case "imagebuilder:DeleteImagePipeline":
      return one(key, String(input.imagePipelineArn));
    // Service Authorization Reference, EC2 Image Builder: StartImagePipelineExecution and the
    // Create actions take aws:RequestTag/${TagKey} and aws:TagKeys for the tags they apply.
    case "imagebuilder:StartImagePipelineExecution":
      return one(key, String(input.imagePipelineArn), requestTags(input.tags));
    // The resource a Create action creates (Service Authorization Reference: component
    // arn:…:component/${ComponentName}/${ComponentVersion}/${ComponentBuildVersion}, imageRecipe
    // …:image-recipe/${Name}/${Version}, …): the next build, and the version a wildcard resolves
    // to, are checked as Image Builder would create them.
    case "imagebuilder:CreateComponent":
    case "imagebuilder:CreateImageRecipe":
    case "imagebuilder:CreateInfrastructureConfiguration":
    case "imagebuilder:CreateDistributionConfiguration":
    case "imagebuilder:CreateImagePipeline":
      return one(key, createdImageBuilderArn(call), requestTags(input.tags));
    case "imagebuilder:GetComponent":
    case "imagebuilder:DeleteComponent":
      return one(key, String(input.componentBuildVersionArn));
    case "imagebuilder:ListComponentBuildVersions":
      return one(key, `${String(input.componentVersionArn)}/*`);
    case "imagebuilder:GetImageRecipe":
    case "imagebuilder:DeleteImageRecipe":
      return one(key, String(input.imageRecipeArn));
    case "imagebuilder:GetInfrastructureConfiguration":
    case "imagebuilder:UpdateInfrastructureConfiguration":
    case "imagebuilder:DeleteInfrastructureConfiguration":
      return one(key, String(input.infrastructureConfigurationArn));
    case "imagebuilder:GetDistributionConfiguration":
    case "imagebuilder:UpdateDistributionConfiguration":
    case "imagebuilder:DeleteDistributionConfiguration":
      return one(key, String(input.distributionConfigurationArn));
    case "imagebuilder:TagResource":
      return one(key, String(input.resourceArn), requestTags(input.tags));
    case "imagebuilder:UntagResource":
      return one(key, String(input.resourceArn), {
        "aws:TagKeys": (input.tagKeys ?? []) as string[],
      });
    case "imagebuilder:ListTagsForResource":
      return one(key, String(input.resourceArn));

    // Service Authorization Reference, AWS CloudFormation: the change set actions take the stack
    // (arn:…:stack/${StackName}/${Id}) and cloudformation:ChangeSetName; CreateChangeSet also
    // cloudformation:ResourceTypes (the template's types), cloudformation:RoleArn and the tags.
    case "cloudformation:CreateChangeSet":
    case "cloudformation:DescribeChangeSet":
    case "cloudformation:ExecuteChangeSet":
    case "cloudformation:DeleteChangeSet": {
      const context: Record<string, string | string[]> = {};
      const changeSet = String(input.ChangeSetName ?? "");
      context["cloudformation:ChangeSetName"] = changeSet.startsWith("arn:")
        ? (changeSet.split("/")[1] ?? changeSet)
        : changeSet;
      if (call.operation === "CreateChangeSet") {
        if (input.RoleARN) context["cloudformation:RoleArn"] = String(input.RoleARN);
        context["cloudformation:ResourceTypes"] = templateResourceTypes(input.TemplateBody);
        Object.assign(
          context,
          requestTags(
            Object.fromEntries(
              ((input.Tags ?? []) as Array<{ Key: string; Value: string }>).map((tag) => [
                tag.Key,
                tag.Value,
              ]),
            ),
          ),
        );
      }
      // A change set named by its ARN (arn:…:changeSet/<name>/<id>) without StackName: the stack
      // is the one the change set belongs to (its ARN does not name it).
      const owner =
        input.StackName === undefined && changeSet.startsWith("arn:")
          ? [...world.cloudFormation.stacks.values()].find((stack) =>
              stack.changeSets.has(changeSet),
            )?.id
          : undefined;
      const stackName = String(input.StackName ?? owner ?? "");
      return one(key, stackArnFor(world, call, stackName), context);
    }
    case "cloudformation:DescribeStackEvents":
    case "cloudformation:ListChangeSets":
    case "cloudformation:DeleteStack":
      return one(key, stackArnFor(world, call, String(input.StackName)));
    case "cloudformation:DescribeStacks":
    case "cloudformation:DescribeEvents":
      return one(key, input.StackName ? stackArnFor(world, call, String(input.StackName)) : "*");
    case "imagebuilder:GetImage":
    case "imagebuilder:ListWorkflowExecutions":
      return one(key, String(input.imageBuildVersionArn));
    // Service Authorization Reference: resource type workflowExecution,
    // arn:${Partition}:imagebuilder:${Region}:${Account}:workflow-execution/${WorkflowExecutionId}.
    case "imagebuilder:ListWorkflowStepExecutions":
      return one(
        key,
        `arn:aws:imagebuilder:${region}:${accountId}:workflow-execution/${String(input.workflowExecutionId)}`,
      );

    case "sqs:SendMessage":
    case "sqs:SendMessageBatch": {
      // https://sqs.<region>.amazonaws.com/<account>/<name>; SendMessageBatch is authorised as
      // sqs:SendMessage (SQS Developer Guide, "Amazon SQS API permissions").
      const [, , , queueAccount, name] = String(input.QueueUrl).split("/");
      return one("sqs:SendMessage", `arn:aws:sqs:${region}:${queueAccount}:${name}`);
    }
    case "sns:Publish":
      return one("sns:Publish", String(input.TopicArn ?? input.TargetArn));
    case "ssm:GetParameter": {
      const name = String(input.Name).replace(/^\//, "");
      return one("ssm:GetParameter", `arn:aws:ssm:${region}:${accountId}:parameter/${name}`);
    }
    // Service Authorization Reference, Amazon EventBridge: ListRuleNamesByTarget (List) has no
    // resource type ("*"); DescribeRule takes the rule, on the default bus
    // arn:${Partition}:events:${Region}:${Account}:rule/${RuleName}, on another
    // …:rule/${EventBusName}/${RuleName}.
    case "events:ListRuleNamesByTarget":
      return one(key, "*");
    case "events:DescribeRule": {
      const bus = String(input.EventBusName ?? "default")
        .split(":event-bus/")
        .at(-1);
      return one(
        key,
        `arn:aws:events:${region}:${accountId}:rule/${bus === "default" ? "" : `${bus}/`}${String(input.Name)}`,
      );
    }
    // Service Authorization Reference, Amazon SNS: ListSubscriptions has no resource type ("*");
    // ListSubscriptionsByTopic takes the topic.
    case "sns:ListSubscriptions":
      return one(key, "*");
    case "sns:ListSubscriptionsByTopic":
      return one(key, String(input.TopicArn));
    // Service Authorization Reference, AWS Systems Manager: DescribeParameters has no resource
    // type ("*"): it lists every parameter's metadata, never a value.
    case "ssm:DescribeParameters":
      return one(key, "*");
    // Service Authorization Reference, Amazon EventBridge Scheduler: GetSchedule takes the
    // schedule, arn:${Partition}:scheduler:${Region}:${Account}:schedule/${GroupName}/${ScheduleName}
    // (the default group when GroupName is omitted: API reference, GetSchedule).
    case "scheduler:GetSchedule":
      return one(
        key,
        `arn:aws:scheduler:${region}:${accountId}:schedule/${String(input.GroupName ?? "default")}/${String(input.Name)}`,
      );
    case "logs:GetLogEvents":
      return one(
        "logs:GetLogEvents",
        `arn:aws:logs:${region}:${accountId}:log-group:${String(input.logGroupName)}:log-stream:${String(input.logStreamName)}`,
      );
  }
  if (call.service === "dynamodb") {
    const table = `arn:aws:dynamodb:${region}:${accountId}:table/${String(input.TableName)}`;
    return one(
      `dynamodb:${call.operation}`,
      input.IndexName ? `${table}/index/${String(input.IndexName)}` : table,
    );
  }
  // Describe and List actions without resource-level permissions (Service Authorization
  // Reference: no resource type), and anything else: checked against "*", and said so.
  if (!/^(Describe|List|Get)/.test(call.operation))
    notes.push(`${key}: no resource-level mapping in the sandbox, checked on "*"`);
  return one(key, "*");
};
