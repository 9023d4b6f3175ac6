import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getTarget, listGroups } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import { MANAGED_TAG } from "../../sandbox/world-from-config.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const DEV = "111111111111";
const BUILD = "999999999999";
const REGION = "eu-west-1";
const MINUTE = 60_000;
const PIPELINE = `arn:aws:imagebuilder:${REGION}:${BUILD}:image-pipeline/base-al2023`;
const FLEET = `arn:aws:imagebuilder:${REGION}:${BUILD}:image-pipeline/fleet`;
/** Another team's arm64 image: its own pipeline, not ours. */
const ARM_AMI = "ami-0a4a4a4a4a4a4a4a4";
/** An earlier arm64 image of OUR pipeline: the new x86_64 AMI cannot replace it. */
const OUR_OLD_ARM_AMI = "ami-0b5b5b5b5b5b5b5b5";
const FLEET_NAMES = Array.from({ length: 60 }, (_, i) => `fleet-${String(i + 1).padStart(2, "0")}`);

/**
 * Groups as real fleets have them (AWS-FACTS section 11; EC2 Auto Scaling user guide,
 * instance-refresh-overview, "Limitations"): attribute-based instance types, overrides with their
 * own AMI (multi-architecture), another team's refresh in flight, and more than 50 names.
 */
const CONFIG = `
accounts:
  dev: { id: "${DEV}", externalId: ext-dev-01, regions: [${REGION}] }
pipelines:
  - name: base-al2023
    arn: ${PIPELINE}
    notificationTopicArn: arn:aws:sns:${REGION}:${BUILD}:imagebuilder-notifications
    rollout:
      waves: [{ name: dev, accounts: [dev] }]
      autoScalingGroups: { tags: { "ami-orchestrator:pipeline": base-al2023 } }
      instanceRefresh: { minHealthyPercentage: 90, whenInProgress: cancel }
      grantPropagationSeconds: 60
  - name: fleet
    arn: ${FLEET}
    notificationTopicArn: arn:aws:sns:${REGION}:${BUILD}:imagebuilder-notifications
    rollout:
      waves: [{ name: dev, accounts: [dev] }]
      autoScalingGroups: { names: [${FLEET_NAMES.join(", ")}] }
      grantPropagationSeconds: 60
`;

describe("group shapes real fleets have, rolled in the sandbox", () => {
  const groups: Record<string, SandboxGroup> = {};
  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" }, ({ world }) => {
    const app = world.autoScaling.groups.get(`${DEV}|${REGION}|base-al2023-app`);
    const oldAmi = app?.runningImageId ?? "";
    world.ec2.registerImage({
      imageId: ARM_AMI,
      ownerId: DEV,
      region: REGION,
      name: "other-team-arm",
      kmsKeyIds: [undefined],
      architecture: "arm64",
      tags: { Ec2ImageBuilderArn: `arn:aws:imagebuilder:${REGION}:${BUILD}:image/other/1.0.0/1` },
    });
    world.ec2.registerImage({
      imageId: OUR_OLD_ARM_AMI,
      ownerId: DEV,
      region: REGION,
      name: "base-al2023 arm, long ago",
      kmsKeyIds: [undefined],
      architecture: "arm64",
      tags: {
        Ec2ImageBuilderArn: `arn:aws:imagebuilder:${REGION}:${BUILD}:image/base-al2023/0.9.0/1`,
      },
    });
    const add = (name: string, overrides: Array<Record<string, unknown>>, version = "$Default") => {
      const template = world.ec2.addLaunchTemplate({
        accountId: DEV,
        region: REGION,
        name: `${name}-lt`,
        imageId: oldAmi,
        tags: { ...MANAGED_TAG },
      });
      groups[name] = world.autoScaling.addGroup({
        name,
        accountId: DEV,
        region: REGION,
        tags: { "ami-orchestrator:pipeline": "base-al2023", ...MANAGED_TAG },
        serviceLinkedRoleArn: slrArn(DEV),
        desiredCapacity: 3,
        runningImageId: oldAmi,
        mixedInstancesPolicy: {
          LaunchTemplate: {
            LaunchTemplateSpecification: { LaunchTemplateId: template.id, Version: version },
            Overrides: overrides,
          },
        },
      });
    };
    add("abs", [
      { InstanceRequirements: { VCpuCount: { Min: 2, Max: 8 }, MemoryMiB: { Min: 4096 } } },
    ]);
    add("multiarch", [
      { InstanceType: "m7i.large", ImageId: oldAmi },
      { InstanceType: "m7g.large", ImageId: ARM_AMI },
    ]);
    add("blocked", [
      { InstanceType: "m7i.large" },
      { InstanceType: "m7g.large", ImageId: OUR_OLD_ARM_AMI },
    ]);
    // Another team's group that follows $Latest: its refresh starts with our build (below).
    add("busy", [{ InstanceType: "m7i.large" }], "$Latest");
  });

  const build = async (pipeline: string, arn: string) => {
    const { world, handlers } = sandbox.session;
    const at = new Date(world.clock.now() + MINUTE).toISOString();
    await handlers.startPipelines({ pipeline, scheduledTime: at }, fakeContext("start-pipelines"));
    world.clock.advance(45 * MINUTE);
    const image = world.imageBuilder.imagesOf(arn).at(-1);
    assert.equal(image?.status, "AVAILABLE");
    return image;
  };
  const newAmiOf = (image: { amis: ReadonlyArray<{ accountId: string; image: string }> }) =>
    image.amis.find((ami) => ami.accountId === DEV)?.image ?? "";

  it("rolls each group the way AWS allows, and never calls a group updated while a launch path names an old AMI", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    const image = await build("base-al2023", PIPELINE);
    const newAmi = newAmiOf(image);
    // Another team's refresh, with a desired configuration, runs on "busy" when we roll: pinning
    // the group is refused while it runs.
    const busy = groups.busy as SandboxGroup;
    world.autoScaling.operations.StartInstanceRefresh({
      accountId: DEV,
      region: REGION,
      input: {
        AutoScalingGroupName: "busy",
        DesiredConfiguration: {
          MixedInstancesPolicy: {
            LaunchTemplate: {
              LaunchTemplateSpecification: {
                ...busy.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification,
                Version: "1",
              },
              Overrides: [{ InstanceType: "m7i.large" }],
            },
          },
        },
      },
    } as never);
    await lambda.run(world.clock.now() + 3 * 3600_000);

    const records = new Map(
      (
        await listGroups(dynamo.db, dynamo.table, image.arn, { accountId: DEV, region: REGION })
      ).map((group) => [group.group, group]),
    );
    const paths = (name: string) =>
      world.autoScaling
        .launchPathImages(groups[name] as SandboxGroup)
        .map((path) => `${path.path}: ${path.imageId === newAmi ? "new" : path.imageId}`);

    // Attribute-based: pointed at the new version, then refreshed without a desired
    // configuration or skip matching (AWS refuses both for such a group).
    const abs = world.autoScaling.refreshes.filter((refresh) => refresh.group.name === "abs");
    assert.equal(abs.length, 1);
    assert.deepEqual(abs[0]?.desiredConfiguration, {});
    assert.equal(abs[0]?.preferences.SkipMatching, false);
    assert.equal(abs[0]?.preferences.AutoRollback, false);
    assert.equal(abs[0]?.status, "Successful");
    assert.equal(records.get("abs")?.status, "succeeded");
    assert.equal(records.get("abs")?.rolledBy, "group-update");
    assert.deepEqual(paths("abs"), [
      "launch template: new",
      "override 1 (instance requirements): new",
    ]);

    // Multi-architecture: the override that launched our old AMI launches the new one; the
    // other team's arm64 AMI is left alone, and said so.
    assert.equal(records.get("multiarch")?.status, "succeeded");
    assert.deepEqual(paths("multiarch"), [
      "launch template: new",
      "override 1 (m7i.large): new",
      `override 2 (m7g.large): ${ARM_AMI}`,
    ]);

    // An earlier arm64 image of this pipeline cannot be replaced by an x86_64 one: the group is
    // reported, not half-updated.
    const target = await getTarget(dynamo.db, dynamo.table, image.arn, {
      accountId: DEV,
      region: REGION,
    });
    assert.equal(records.get("blocked"), undefined);
    assert.match(
      target?.unsupportedGroups?.find((group) => group.name === "blocked")?.reason ?? "",
      new RegExp(`${OUR_OLD_ARM_AMI} \\(arm64\\).*${newAmi} is x86_64`),
    );
    assert.equal(
      world.autoScaling.refreshes.filter((refresh) => refresh.group.name === "blocked").length,
      0,
    );

    // Another team's refresh blocked the pin: with whenInProgress: cancel it was cancelled,
    // then the group was pinned and refreshed.
    const cancels = world.calls.filter(
      (call) =>
        call.operation === "CancelInstanceRefresh" &&
        (call.input as { AutoScalingGroupName?: string }).AutoScalingGroupName === "busy",
    );
    assert.equal(cancels.length, 1);
    assert.equal(records.get("busy")?.status, "succeeded", records.get("busy")?.reason);
  });

  it("finds and rolls more than 50 named groups, 50 names per DescribeAutoScalingGroups", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    const image = await build("fleet", FLEET);
    await lambda.run(world.clock.now() + 3 * 3600_000);
    const records = await listGroups(dynamo.db, dynamo.table, image.arn, {
      accountId: DEV,
      region: REGION,
    });
    assert.equal(records.length, 60);
    assert.ok(records.every((group) => group.status === "succeeded"));
    const sizes = world.calls
      .filter((call) => call.operation === "DescribeAutoScalingGroups" && !call.error)
      .map((call) => (call.input as { AutoScalingGroupNames?: string[] }).AutoScalingGroupNames)
      .filter((names) => names !== undefined)
      .map((names) => names.length);
    assert.ok(sizes.length > 0 && Math.max(...sizes) <= 50, `names per call: ${sizes.join(",")}`);
  });
});
