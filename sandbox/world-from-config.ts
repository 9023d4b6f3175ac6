import { createHash } from "node:crypto";
import { type OrchestratorConfig, parsePipelineArn } from "../lib/config/schema.ts";
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
}

export interface RolloutQueues {
  readonly rollout: SandboxQueue;
  readonly deadLetter: SandboxQueue;
  readonly alerts: SandboxQueue;
  readonly alertsDeadLetter: SandboxQueue;
}

export const ALERTS_TOPIC = (accountId: string, region: string) =>
  `arn:aws:sns:${region}:${accountId}:ami-orchestrator-sandbox-alerts`;

export const ROLLOUT_QUEUE_NAME = "ami-orchestrator-sandbox-rollout";

const amiId = (seed: string) =>
  `ami-0${createHash("sha256").update(seed).digest("hex").slice(0, 16)}`;

/**
 * A multi-account world that matches a config, as a platform team would have set it up:
 * - every pipeline exists in its build account and distributes to every configured account and
 *   region, encrypting the copies with the build account's customer-managed key of that region,
 *   whose key policy lets the target accounts create grants (README, "Target accounts");
 * - every target account has the orchestrator's role (trust + ExternalId) and Auto Scaling groups
 *   matching each pipeline's selector: a plain launch-template group and a mixed-instances group
 *   for tag selectors, the named groups for name selectors, all running an older AMI;
 * - the rollout queue with its dead-letter queue, as serverless.yml declares them.
 */
export const worldFromConfig = (
  config: OrchestratorConfig,
  options: WorldFromConfigOptions,
): SandboxWorld & { readonly queues: RolloutQueues } => {
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
  const distributions: Distribution[] = [...byRegion].map(([region, accountIds]) => ({
    region,
    accountIds,
  }));
  const targetIds = Object.values(config.accounts).map((account) => account.id);
  const keyOf = (accountId: string, region: string) => {
    const arn = KmsModel.keyArn(accountId, region, "ami-encryption");
    if (!world.kms.keys.has(arn)) {
      world.kms.addKey({ arn, accountId, region, manager: "CUSTOMER", allowedAccounts: targetIds });
    }
    return arn;
  };

  for (const pipeline of config.pipelines) {
    const arn = parsePipelineArn(pipeline.arn);
    if (!arn) continue;
    world.imageBuilder.addPipeline({
      arn: pipeline.arn,
      name: arn.resourceName,
      accountId: arn.accountId,
      region: arn.region,
      recipeName: arn.resourceName,
      recipeVersion: "1.0.0",
      distributions,
      status: options.disabledPipelines?.includes(pipeline.name) ? "DISABLED" : "ENABLED",
    });
  }
  // Distribution: each copy is an AMI owned by its account, encrypted with the build account's key.
  world.imageBuilder.onImageStateChange((image) => {
    if (image.status !== "AVAILABLE") return;
    for (const ami of image.amis) {
      world.ec2.registerImage({
        imageId: ami.image,
        ownerId: ami.accountId,
        region: ami.region,
        name: ami.name,
        kmsKeyIds: [keyOf(image.accountId, ami.region)],
      });
    }
  });

  for (const [alias, account] of Object.entries(config.accounts)) {
    world.sts.addRole({
      accountId: account.id,
      roleName: account.roleName,
      externalId: account.externalId,
      trustedAccountId: world.orchestratorAccountId,
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
          const template = world.ec2.addLaunchTemplate({
            accountId: account.id,
            region,
            name: `${name}-lt`,
            imageId: oldAmi,
          });
          const spec = { LaunchTemplateId: template.id, Version: "$Default" };
          return world.autoScaling.addGroup({
            name,
            accountId: account.id,
            region,
            tags: { ...rollout.autoScalingGroups.tags },
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
              tags: { ...rollout.autoScalingGroups.tags },
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
  return Object.assign(world, { queues: { rollout, deadLetter, alerts, alertsDeadLetter } });
};
