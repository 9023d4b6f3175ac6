import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { getTarget, listGroups } from "../lib/rollout/store.ts";
import { fakeContext } from "./lambda.ts";
import type { SandboxGroup } from "./model/auto-scaling.ts";
import { slrArn } from "./model/iam.ts";
import type { SandboxWorld as World } from "./model/world.ts";
import { startSandbox } from "./session.ts";
import { MANAGED_TAG } from "./world-from-config.ts";

/** Another team's arm64 image (its own pipeline): an override of a multi-architecture group. */
export const OTHER_TEAMS_ARM_AMI = "ami-0a4a4a4a4a4a4a4a4";
/** An earlier arm64 image of the pipeline itself: a new x86_64 AMI cannot replace it. */
export const OWN_OLD_ARM_AMI = "ami-0b5b5b5b5b5b5b5b5";

export interface GroupShapes {
  /** Attribute-based instance types (an override with InstanceRequirements). */
  readonly abs: SandboxGroup;
  /** x86 overrides on the pipeline's AMI, arm64 overrides on another team's. */
  readonly multiarch: SandboxGroup;
  /** An override on an earlier arm64 image of the pipeline itself. */
  readonly blocked: SandboxGroup;
  /** Follows $Latest; another team's refresh can be started on it with `startOtherTeamsRefresh`. */
  readonly busy: SandboxGroup;
}

/**
 * Groups as real fleets have them (EC2 Auto Scaling user guide, instance-refresh-overview,
 * "Limitations"; API model LaunchTemplateOverrides), selected by the pipeline's tags in one target
 * (account and region): attribute-based, multi-architecture with overrides' own AMIs, one the new
 * AMI cannot serve, and one another team refreshes. Their templates launch the AMI the target's
 * other groups run now (the pipeline's previous image).
 */
export const addGroupShapes = (
  world: World,
  target: { accountId: string; region: string; pipeline: string; buildAccountId: string },
): GroupShapes => {
  const { accountId, region } = target;
  const previous = [...world.autoScaling.groups.values()].find(
    (group) =>
      group.accountId === accountId &&
      group.region === region &&
      group.tags["ami-orchestrator:pipeline"] === target.pipeline,
  )?.runningImageId;
  if (!previous) throw new Error(`no group of ${target.pipeline} in ${accountId}/${region}`);
  const builtAs = (name: string, version: string) =>
    `arn:aws:imagebuilder:${region}:${target.buildAccountId}:image/${name}/${version}/1`;
  world.ec2.registerImage({
    imageId: OTHER_TEAMS_ARM_AMI,
    ownerId: accountId,
    region,
    name: "other-team arm64",
    kmsKeyIds: [undefined],
    architecture: "arm64",
    tags: { Ec2ImageBuilderArn: builtAs("other-team-arm64", "3.1.0") },
  });
  world.ec2.registerImage({
    imageId: OWN_OLD_ARM_AMI,
    ownerId: accountId,
    region,
    name: `${target.pipeline} arm64, long ago`,
    kmsKeyIds: [undefined],
    architecture: "arm64",
    tags: { Ec2ImageBuilderArn: builtAs(target.pipeline, "0.9.0") },
  });
  const add = (name: string, overrides: Array<Record<string, unknown>>, version = "$Default") => {
    const template = world.ec2.addLaunchTemplate({
      accountId,
      region,
      name: `${name}-lt`,
      imageId: previous,
      tags: { ...MANAGED_TAG },
    });
    return world.autoScaling.addGroup({
      name,
      accountId,
      region,
      tags: { "ami-orchestrator:pipeline": target.pipeline, ...MANAGED_TAG },
      serviceLinkedRoleArn: slrArn(accountId),
      desiredCapacity: 3,
      runningImageId: previous,
      mixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: template.id, Version: version },
          Overrides: overrides,
        },
      },
    });
  };
  return {
    abs: add(`${target.pipeline}-abs`, [
      { InstanceRequirements: { VCpuCount: { Min: 2, Max: 8 }, MemoryMiB: { Min: 4096 } } },
    ]),
    multiarch: add(`${target.pipeline}-multiarch`, [
      { InstanceType: "m7i.large", ImageId: previous },
      { InstanceType: "m7g.large", ImageId: OTHER_TEAMS_ARM_AMI },
    ]),
    blocked: add(`${target.pipeline}-blocked`, [
      { InstanceType: "m7i.large" },
      { InstanceType: "m7g.large", ImageId: OWN_OLD_ARM_AMI },
    ]),
    busy: add(`${target.pipeline}-busy`, [{ InstanceType: "m7i.large" }], "$Latest"),
  };
};

/** Another team's refresh with a desired configuration on `group`, as they would start it. */
export const startOtherTeamsRefresh = (world: World, group: SandboxGroup): void => {
  world.autoScaling.operations.StartInstanceRefresh({
    accountId: group.accountId,
    region: group.region,
    input: {
      AutoScalingGroupName: group.name,
      DesiredConfiguration: {
        MixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: {
              ...group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification,
              Version: "1",
            },
            Overrides: group.mixedInstancesPolicy?.LaunchTemplate.Overrides ?? [],
          },
        },
      },
    },
  } as never);
};

/**
 * `npm start -- --scenario group-shapes`: the first pipeline with a rollout rolls, in its first
 * target, an attribute-based group, a multi-architecture group, one it must not roll, and one
 * another team is refreshing; each is shown with how it was rolled and what its launch paths
 * launch afterwards. Returns the exit status: 0 when every launch path ended as it should.
 */
export const groupShapesScenario = async (config: OrchestratorConfig): Promise<number> => {
  const pipeline = config.pipelines.find((candidate) => candidate.rollout);
  const alias = pipeline?.rollout?.waves[0]?.accounts[0];
  const account = alias ? config.accounts[alias] : undefined;
  const region = account?.regions[0];
  if (!pipeline?.rollout || !account || !region) {
    console.log("the config has no pipeline with a rollout: nothing to show");
    return 1;
  }
  const buildAccountId = pipeline.arn.split(":")[4] ?? "";
  const session = await startSandbox(config, { start: "2026-11-23T01:59:00Z" });
  try {
    const { world, lambda, handlers, dynamo } = session;
    const shapes = addGroupShapes(world, {
      accountId: account.id,
      region,
      pipeline: pipeline.name,
      buildAccountId,
    });
    await handlers.startPipelines(
      { pipeline: pipeline.name, scheduledTime: "2026-11-23T02:00:00Z" },
      fakeContext("start-pipelines"),
    );
    world.clock.advance(45 * 60_000);
    const image = world.imageBuilder.imagesOf(pipeline.arn).at(-1);
    const newAmi = image?.amis.find(
      (ami) => ami.accountId === account.id && ami.region === region,
    )?.image;
    if (!image || !newAmi) {
      console.log(`no AMI of ${pipeline.name} for ${account.id}/${region}`);
      return 1;
    }
    startOtherTeamsRefresh(world, shapes.busy);
    console.log(
      `${world.clock.iso()}  ${image.arn} AVAILABLE: ${newAmi} for ${account.id}/${region}; another team's refresh runs on ${shapes.busy.name}`,
    );
    await lambda.run(world.clock.now() + 6 * 3600_000);
    const records = new Map(
      (await listGroups(dynamo.db, dynamo.table, image.arn, { accountId: account.id, region })).map(
        (record) => [record.group, record],
      ),
    );
    const target = await getTarget(dynamo.db, dynamo.table, image.arn, {
      accountId: account.id,
      region,
    });
    let ok = true;
    for (const group of Object.values(shapes)) {
      const record = records.get(group.name);
      const unsupported = target?.unsupportedGroups?.find((entry) => entry.name === group.name);
      console.log(
        `\n${group.name}: ${record ? `${record.status}${record.rolledBy ? " (group updated, then refreshed without a desired configuration)" : ""}` : `not rolled: ${unsupported?.reason ?? "?"}`}`,
      );
      const paths = world.autoScaling.launchPathImages(group);
      for (const path of paths)
        console.log(
          `  ${path.path}: ${path.imageId}${path.imageId === newAmi ? " (new)" : path.imageId === OTHER_TEAMS_ARM_AMI ? " (another team's, left alone)" : ""}`,
        );
      const expected =
        group === shapes.blocked
          ? unsupported !== undefined && paths.every((path) => path.imageId !== newAmi)
          : record?.status === "succeeded" &&
            paths.every((path) => path.imageId === newAmi || path.imageId === OTHER_TEAMS_ARM_AMI);
      ok &&= expected;
    }
    const theirs = world.autoScaling.refreshesOf(shapes.busy)[0];
    const ours = records.get(shapes.busy.name)?.instanceRefreshId;
    const oursStarted = world.autoScaling.refreshes.find(
      (refresh) => refresh.id === ours,
    )?.startTime;
    const waited =
      theirs?.endTime !== undefined && oursStarted !== undefined && oursStarted >= theirs.endTime;
    console.log(
      `\nanother team's refresh on ${shapes.busy.name}: ${theirs?.status}; ours started after it ended: ${waited ? "yes" : "no"} (whenInProgress: ${pipeline.rollout.instanceRefresh.whenInProgress})`,
    );
    ok &&= pipeline.rollout.instanceRefresh.whenInProgress === "cancel" || waited;
    return ok ? 0 : 1;
  } finally {
    await session.close();
  }
};
