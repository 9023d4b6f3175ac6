import { createHash } from "node:crypto";
import { type OrchestratorConfig, parsePipelineArn } from "../lib/config/schema.ts";
import { isManaged, type ManagedPipeline } from "../lib/pipelines/definitions.ts";
import { orchestratorRules, targetForwardingRule } from "./deployed-rules.ts";
import { deployedOutputs, deployedSchedules, deployedSubscriptions } from "./deployed-stack.ts";
import { IamAuthorizer } from "./iam/authorizer.ts";
import {
  functionRoles,
  queuePolicies,
  type RolePolicies,
  targetAccountRole,
} from "./iam/policies.ts";
import {
  assumeCiRole,
  buildSiteOf,
  ciRole,
  type DeployedImageStack,
  deployManagedPipelines,
  loadManagedPipelines,
  REPOSITORY_ROOT,
} from "./image-stack.ts";
import type { SandboxGroup } from "./model/auto-scaling.ts";
import { slrArn } from "./model/iam.ts";
import type { BuildDurations, Distribution } from "./model/image-builder.ts";
import { KmsModel } from "./model/kms.ts";
import type { SandboxQueue } from "./model/sqs.ts";
import { SandboxWorld } from "./model/world.ts";

export interface WorldFromConfigOptions {
  readonly start: string;
  /** Pipelines the sandbox marks DISABLED in Image Builder. */
  readonly disabledPipelines?: readonly string[];
  readonly buildDurations?: BuildDurations;
  /** Account aliases whose groups launch with a custom-suffix service-linked role. */
  readonly customSlrAccounts?: readonly string[];
  /** Also create, in each tag-selected target, a group still on a launch configuration. */
  readonly legacyLaunchConfigurationGroup?: boolean;
  /** The DynamoDB table the functions use (serverless.yml's StateTable). */
  readonly tableName?: string;
  /**
   * How each pipeline (by config name) distributes its AMIs; default `copy`. `share`: launch
   * permission for every configured account of the region; `share-with-ou`: for an OU holding them
   * all; `mixed`: the first account of each region gets a copy, the others the shared AMI.
   */
  readonly distributionModes?: Readonly<
    Record<string, "copy" | "share" | "share-with-ou" | "mixed">
  >;
  /**
   * The managed pipelines' image stack (config `definition`): the repository whose `pipelines/`
   * holds their definitions (default: this one), or the definitions themselves (e.g. those of a
   * commit; none: no stack is deployed), and the stage it is deployed as (default: the sandbox's).
   */
  readonly imageStack?: {
    readonly root?: string;
    readonly pipelines?: readonly ManagedPipeline[];
    readonly stage?: string;
  };
}

/** The OU the sandbox's configured accounts belong to (for `share-with-ou`). */
export const SANDBOX_OU = (buildAccountId: string) =>
  `arn:aws:organizations::${buildAccountId}:ou/o-sandbox0001/ou-sb01-workload`;

export interface RolloutQueues {
  readonly rollout: SandboxQueue;
  readonly deadLetter: SandboxQueue;
  readonly alerts: SandboxQueue;
  readonly alertsDeadLetter: SandboxQueue;
}

/** The stage the sandbox "deploys" serverless.yml with (names in its role policies). */
export const SANDBOX_STAGE = "sandbox";

/** The tag the target role's default (RequireManagedTag=true) requires on templates and groups. */
export const MANAGED_TAG = { "ami-orchestrator:managed": "true" } as const;

export const ALERTS_TOPIC = (accountId: string, region: string) =>
  `arn:aws:sns:${region}:${accountId}:ami-orchestrator-sandbox-alerts`;

export const ROLLOUT_QUEUE_NAME = "ami-orchestrator-sandbox-rollout";

const amiId = (seed: string) =>
  `ami-0${createHash("sha256").update(seed).digest("hex").slice(0, 16)}`;

type TargetAccountSetup = {
  readonly id: string;
  readonly roleName: string;
  readonly externalId: string;
  readonly regions: readonly string[];
  readonly buildAccounts: readonly string[];
};

/** The parameters a platform team gives templates/target-account-role.yml for one account. */
const targetStackParameters = (
  world: SandboxWorld,
  account: TargetAccountSetup,
  overrides: Record<string, string>,
): Record<string, string> => ({
  OrchestratorAccountId: world.orchestratorAccountId,
  OrchestratorRegion: world.orchestratorRegion,
  OrchestratorStage: SANDBOX_STAGE,
  ExternalId: account.externalId,
  RoleName: account.roleName,
  KmsKeyArns: account.buildAccounts
    .flatMap((build) =>
      account.regions.map((region) => KmsModel.keyArn(build, region, "ami-encryption")),
    )
    .join(","),
  ...overrides,
});

/** The stack name the sandbox deploys the target template with, in every region. */
export const TARGET_STACK = "ami-orchestrator-target";

/**
 * templates/target-account-role.yml deployed with Component=forwarding-only in `region`: the rule
 * that forwards the region's instance-refresh and failed-launch events to the orchestrator's bus.
 */
export const deployForwarding = (
  world: SandboxWorld,
  account: TargetAccountSetup,
  region: string,
  overrides: Record<string, string> = {},
) =>
  world.events.putRule(
    targetForwardingRule({
      accountId: account.id,
      region,
      stackName: TARGET_STACK,
      parameters: targetStackParameters(world, account, {
        Component: "forwarding-only",
        ...overrides,
      }),
    }),
  );

/**
 * The target role as templates/target-account-role.yml creates it in one account, with the
 * parameters a platform team would give it: the orchestrator's account and region, the account's
 * ExternalId and role name, and the build accounts' keys in the account's regions. The same stack
 * (Component=role-and-forwarding, in the account's first region) creates that region's
 * forwarding rule.
 */
export const deployTargetRole = (
  world: SandboxWorld,
  account: TargetAccountSetup,
  overrides: Record<string, string> = {},
): RolePolicies | undefined => {
  const region = account.regions[0] ?? world.orchestratorRegion;
  const parameters = targetStackParameters(world, account, overrides);
  if (parameters.Component !== "forwarding-only")
    deployForwarding(world, account, region, overrides);
  return targetAccountRole({ accountId: account.id, region, stackName: TARGET_STACK, parameters });
};

/**
 * A multi-account world that matches a config, as a platform team would have set it up:
 * - every pipeline exists in its build account: one by `arn` as someone created it, distributing
 *   to every configured account and region; a managed one (`definition`) as its image stack
 *   deployed it (sandbox/image-stack.ts), distributing where its waves go. Copies are encrypted
 *   with the build account's customer-managed key of their region,
 *   whose key policy lets the target accounts create grants (README, "Target accounts");
 * - every target account has the orchestrator's role (trust + ExternalId) and Auto Scaling groups
 *   matching each pipeline's selector: a plain launch-template group and a mixed-instances group
 *   for tag selectors, the named groups for name selectors, all running an older AMI;
 * - the rollout queue with its dead-letter queue, as serverless.yml declares them.
 */
export const worldFromConfig = async (
  config: OrchestratorConfig,
  options: WorldFromConfigOptions,
): Promise<
  SandboxWorld & {
    readonly queues: RolloutQueues;
    readonly authorizer: IamAuthorizer;
    /** The managed pipelines' stack, when the config has any. */
    readonly imageStack?: DeployedImageStack;
  }
> => {
  const first = parsePipelineArn(config.pipelines[0]?.arn ?? "");
  const world = new SandboxWorld({
    start: options.start,
    orchestratorAccountId: first?.accountId ?? "999999999999",
    orchestratorRegion: first?.region ?? "eu-west-1",
    ...(options.buildDurations ? { buildDurations: options.buildDurations } : {}),
  });
  const byRegion = new Map<string, string[]>();
  for (const account of Object.values(config.accounts)) {
    for (const region of account.regions)
      byRegion.set(region, [...(byRegion.get(region) ?? []), account.id]);
  }
  const distributionsFor = (mode: string, buildAccountId: string): Distribution[] =>
    [...byRegion].map(([region, accountIds]) => {
      if (mode === "share")
        return { region, accountIds: [], launchPermission: { userIds: accountIds } };
      if (mode === "share-with-ou")
        return {
          region,
          accountIds: [],
          launchPermission: { organizationalUnitArns: [SANDBOX_OU(buildAccountId)] },
        };
      if (mode === "mixed")
        return {
          region,
          accountIds: accountIds.slice(0, 1),
          launchPermission: { userIds: accountIds.slice(1) },
        };
      return { region, accountIds };
    });
  const targetIds = Object.values(config.accounts).map((account) => account.id);
  const keyOf = (accountId: string, region: string) => {
    const arn = KmsModel.keyArn(accountId, region, "ami-encryption");
    if (!world.kms.keys.has(arn)) {
      world.kms.addKey({ arn, accountId, region, manager: "CUSTOMER", allowedAccounts: targetIds });
    }
    return arn;
  };

  const managed = config.pipelines.filter(isManaged);
  for (const pipeline of managed) {
    // Their stack decides these (pipeline.yml `distribution`, `Status`).
    if (
      options.distributionModes?.[pipeline.name] ||
      options.disabledPipelines?.includes(pipeline.name)
    )
      throw new Error(
        `${pipeline.name} is a managed pipeline: its distribution and status come from its definition (pipeline.yml), not from the sandbox's options`,
      );
  }
  for (const pipeline of config.pipelines) {
    const arn = parsePipelineArn(pipeline.arn);
    if (!arn || isManaged(pipeline)) continue;
    world.imageBuilder.addPipeline({
      arn: pipeline.arn,
      name: arn.resourceName,
      accountId: arn.accountId,
      region: arn.region,
      recipeName: arn.resourceName,
      recipeVersion: "1.0.0",
      distributions: distributionsFor(
        options.distributionModes?.[pipeline.name] ?? "copy",
        arn.accountId,
      ),
      status: options.disabledPipelines?.includes(pipeline.name) ? "DISABLED" : "ENABLED",
    });
  }
  // Distribution: each copy is an AMI owned by its account, encrypted with the build account's key.
  // A launch permission shares the build account's AMI itself (EC2 ModifyImageAttribute
  // launchPermission): its snapshots stay in the build account, encrypted with the build
  // account's key, and are not shared (a launch permission does not grant createVolumePermission:
  // EC2 user guide, "Share an AMI with specific AWS accounts"). An OU or organization share
  // reaches every configured account (they are all members here).
  world.imageBuilder.onImageStateChange((image) => {
    if (image.status !== "AVAILABLE") return;
    const pipeline = world.imageBuilder.pipelines.get(image.pipelineArn);
    for (const ami of image.amis) {
      const permission =
        ami.accountId === image.accountId
          ? pipeline?.distributions.find((distribution) => distribution.region === ami.region)
              ?.launchPermission
          : undefined;
      const sharedWith = permission
        ? (permission.organizationArns?.length ?? 0) +
            (permission.organizationalUnitArns?.length ?? 0) >
          0
          ? targetIds
          : [...(permission.userIds ?? [])]
        : [];
      world.ec2.registerImage({
        imageId: ami.image,
        ownerId: ami.accountId,
        region: ami.region,
        name: ami.name,
        kmsKeyIds: [keyOf(image.accountId, ami.region)],
        sharedWith,
        // "Image Builder automatically adds the following tags to your output AMIs":
        // CreatedBy and Ec2ImageBuilderArn (Image Builder user guide, tag-resources).
        tags: { CreatedBy: "EC2 Image Builder", Ec2ImageBuilderArn: image.arn },
      });
    }
  });

  const buildAccounts = [
    ...new Set(
      config.pipelines.flatMap((pipeline) => parsePipelineArn(pipeline.arn)?.accountId ?? []),
    ),
  ];
  const targetRoles = new Map<string, RolePolicies>();
  // The CI role of templates/ci-role.yml in the build account, which deploys the image stack.
  const site = buildSiteOf(config);
  const imageStage = options.imageStack?.stage ?? SANDBOX_STAGE;
  if (site) {
    const role = ciRole(site, imageStage);
    targetRoles.set(role.roleArn, role);
  }
  for (const [alias, account] of Object.entries(config.accounts)) {
    const targetRole = deployTargetRole(world, { ...account, buildAccounts });
    if (targetRole) targetRoles.set(targetRole.roleArn, targetRole);
    // Component=forwarding-only in each other region of the account (the README's set-up).
    for (const region of account.regions.slice(1))
      deployForwarding(world, { ...account, buildAccounts }, region);
    world.sts.addRole({
      accountId: account.id,
      roleName: account.roleName,
      maxSessionDuration: 3600,
    });
    world.iam.addServiceLinkedRole(account.id);
    const suffix = options.customSlrAccounts?.includes(alias) ? alias : undefined;
    if (suffix) world.iam.addServiceLinkedRole(account.id, suffix);
    const role = slrArn(account.id, suffix);
    for (const region of account.regions) {
      for (const pipeline of config.pipelines) {
        const rollout = pipeline.rollout;
        if (!rollout?.waves.some((wave) => wave.accounts.includes(alias))) continue;
        const oldAmi = amiId(`${account.id}|${region}|${pipeline.name}|previous`);
        world.ec2.registerImage({
          imageId: oldAmi,
          ownerId: account.id,
          region,
          name: `${pipeline.name} previous`,
          kmsKeyIds: [undefined],
        });
        const group = (name: string, extra: Partial<SandboxGroup> = {}): SandboxGroup => {
          world.iam.addInstanceProfile(account.id, `${name}-instance`, `${name}-instance-role`);
          const template = world.ec2.addLaunchTemplate({
            accountId: account.id,
            region,
            name: `${name}-lt`,
            imageId: oldAmi,
            tags: { ...MANAGED_TAG },
            // What a real group's template carries: an instance profile and tags for what it
            // launches (Auto Scaling then checks iam:PassRole and ec2:CreateTags on our behalf).
            data: {
              IamInstanceProfile: { Name: `${name}-instance` },
              TagSpecifications: ["instance", "volume"].map((ResourceType) => ({
                ResourceType,
                Tags: [{ Key: "app", Value: name }],
              })),
            },
          });
          // Groups follow their template, as most do: the app its default version, the
          // workers its latest one. Both must be pinned before an auto-rollback refresh.
          const spec = {
            LaunchTemplateId: template.id,
            Version: extra.mixedInstancesPolicy ? "$Latest" : "$Default",
          };
          return world.autoScaling.addGroup({
            name,
            accountId: account.id,
            region,
            tags: { ...rollout.autoScalingGroups.tags, ...MANAGED_TAG },
            serviceLinkedRoleArn: role,
            desiredCapacity: 4,
            runningImageId: oldAmi,
            ...(extra.mixedInstancesPolicy
              ? {
                  mixedInstancesPolicy: {
                    ...extra.mixedInstancesPolicy,
                    LaunchTemplate: {
                      ...extra.mixedInstancesPolicy.LaunchTemplate,
                      LaunchTemplateSpecification: spec,
                    },
                  },
                }
              : { launchTemplate: spec }),
          });
        };
        if (rollout.autoScalingGroups.names) {
          for (const name of rollout.autoScalingGroups.names) group(name);
        } else {
          group(`${pipeline.name}-app`);
          group(`${pipeline.name}-workers`, {
            mixedInstancesPolicy: {
              LaunchTemplate: {
                LaunchTemplateSpecification: {},
                Overrides: [{ InstanceType: "m7g.large" }, { InstanceType: "m6g.large" }],
              },
              InstancesDistribution: {
                OnDemandBaseCapacity: 1,
                OnDemandPercentageAboveBaseCapacity: 25,
                SpotAllocationStrategy: "price-capacity-optimized",
              },
            },
          });
          if (options.legacyLaunchConfigurationGroup) {
            world.autoScaling.addGroup({
              name: `${pipeline.name}-legacy`,
              accountId: account.id,
              region,
              tags: { ...rollout.autoScalingGroups.tags, ...MANAGED_TAG },
              serviceLinkedRoleArn: role,
              desiredCapacity: 2,
              launchConfigurationName: `${pipeline.name}-legacy-lc`,
              runningImageId: oldAmi,
            });
          }
        }
      }
    }
  }

  // The stack's schedules and subscriptions, as a deploy creates them; the alerts topic, and
  // Image Builder's topics in their build accounts. The alert addresses confirmed their
  // subscriptions, as a team does once after its first deploy.
  const stackSite = {
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    stage: SANDBOX_STAGE,
  };
  for (const schedule of deployedSchedules(config, stackSite)) world.scheduler.put(schedule);
  const alertsTopicArn = ALERTS_TOPIC(world.orchestratorAccountId, world.orchestratorRegion);
  world.sns.createTopic(alertsTopicArn);
  for (const pipeline of config.pipelines)
    if (pipeline.notificationTopicArn) world.sns.createTopic(pipeline.notificationTopicArn);
  for (const subscription of deployedSubscriptions(config, { ...stackSite, alertsTopicArn })) {
    world.sns.subscribe(subscription);
    if (subscription.protocol === "email")
      world.sns.confirm(subscription.topicArn, subscription.endpoint);
  }

  const deadLetter = world.sqs.addQueue({
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    name: `${ROLLOUT_QUEUE_NAME}-dlq`,
  });
  const rollout = world.sqs.addQueue({
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    name: ROLLOUT_QUEUE_NAME,
    visibilityTimeoutSeconds: 900,
    deadLetter: { queue: deadLetter, maxReceiveCount: 5 },
  });
  const alertsDeadLetter = world.sqs.addQueue({
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    name: "ami-orchestrator-sandbox-alerts-dlq",
  });
  const alerts = world.sqs.addQueue({
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    name: "ami-orchestrator-sandbox-alerts",
    visibilityTimeoutSeconds: 360,
    deadLetter: { queue: alertsDeadLetter, maxReceiveCount: 5 },
  });
  const queue = (logicalId: string, created: SandboxQueue) => ({
    [logicalId]: {
      Ref: created.url,
      Arn: created.arn,
      QueueName: created.arn.split(":").at(-1) ?? "",
    },
  });
  // The rules serverless.yml gives the orchestrator's functions (osls compiles them).
  for (const rule of orchestratorRules(config, {
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    stage: SANDBOX_STAGE,
  }))
    world.events.putRule(rule);
  const table = options.tableName ?? "ami-orchestrator-sandbox";
  const stack = {
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    stackName: `ami-orchestrator-${SANDBOX_STAGE}`,
    stage: SANDBOX_STAGE,
    // The stack's resources are the sandbox's own table, queues and topic.
    resources: {
      StateTable: {
        Ref: table,
        Arn: `arn:aws:dynamodb:${world.orchestratorRegion}:${world.orchestratorAccountId}:table/${table}`,
      },
      ...queue("RolloutQueue", rollout),
      ...queue("RolloutDeadLetterQueue", deadLetter),
      ...queue("AlertsQueue", alerts),
      ...queue("AlertsDeadLetterQueue", alertsDeadLetter),
      AlertsTopic: { Ref: ALERTS_TOPIC(world.orchestratorAccountId, world.orchestratorRegion) },
    },
  };
  // The stack itself, with the outputs the operator commands find the deployment by.
  world.cloudformationStacks.deploy({
    accountId: stack.accountId,
    region: stack.region,
    stackName: stack.stackName,
    outputs: deployedOutputs(config, stack),
  });
  world.authorizer = new IamAuthorizer(world, {
    functionRoles: functionRoles(config, stack),
    roles: targetRoles,
    queuePolicies: queuePolicies(config, stack),
  });
  // iam:SimulatePrincipalPolicy evaluates the deployed roles with the authorizer's engine.
  const authorizer = world.authorizer as IamAuthorizer;
  world.iam.simulator = (roleArn, request) => authorizer.simulate(roleArn, request);
  // The managed pipelines, as their stack creates them: deployed as the CI role, IAM-checked.
  const definitions = site
    ? (options.imageStack?.pipelines ??
      loadManagedPipelines(config, options.imageStack?.root ?? REPOSITORY_ROOT))
    : [];
  const imageStack =
    site && definitions.length > 0
      ? await deployManagedPipelines(world, definitions, {
          site,
          stage: imageStage,
          accessKeyId: await assumeCiRole(world, site),
        })
      : undefined;
  return Object.assign(world, {
    queues: { rollout, deadLetter, alerts, alertsDeadLetter },
    authorizer: world.authorizer as IamAuthorizer,
    ...(imageStack ? { imageStack } : {}),
  });
};
