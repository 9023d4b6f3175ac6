import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DoctorReport } from "../../lib/doctor/report.ts";
import { type GroupRecord, getTarget, listGroups } from "../../lib/rollout/store.ts";
import {
  OTHER_TEAMS_ARM_AMI as ARM_AMI,
  addGroupShapes,
  type GroupShapes,
  OWN_OLD_ARM_AMI as OUR_OLD_ARM_AMI,
  startOtherTeamsRefresh,
} from "../../sandbox/group-shapes.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import { BUILD_ACCOUNT as BUILD, pipelineArn } from "../helpers/fixtures.ts";
import { buildImage, MINUTE, onePipelineConfig, REGION } from "../helpers/sandbox-scenario.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";
import { DEV_ACCOUNT as DEV } from "../helpers/target-account.ts";

const FLEET_NAMES = Array.from({ length: 60 }, (_, i) => `fleet-${String(i + 1).padStart(2, "0")}`);

/**
 * Groups as real fleets have them (AWS-FACTS section 11; EC2 Auto Scaling user guide,
 * instance-refresh-overview, "Limitations"): attribute-based instance types, overrides with their
 * own AMI (multi-architecture), another team's refresh in flight, and more than 50 names.
 */
const CONFIG = onePipelineConfig({
  account: "dev",
  rollout: ["instanceRefresh: { minHealthyPercentage: 90, whenInProgress: cancel }"],
  morePipelines: `  - name: fleet
    arn: ${pipelineArn("fleet")}
    notificationTopicArn: arn:aws:sns:${REGION}:${BUILD}:imagebuilder-notifications
    rollout:
      waves: [{ name: dev, accounts: [dev] }]
      autoScalingGroups: { names: [${FLEET_NAMES.join(", ")}] }
      grantPropagationSeconds: 60
`,
});

describe("group shapes real fleets have, rolled in the sandbox", () => {
  let shapes: GroupShapes;
  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" }, ({ world }) => {
    shapes = addGroupShapes(world, {
      accountId: DEV,
      region: REGION,
      pipeline: "base-al2023",
      buildAccountId: BUILD,
    });
  });
  const build = async (pipeline: string) => {
    const at = new Date(sandbox.session.world.clock.now() + MINUTE).toISOString();
    const image = await buildImage(sandbox.session, { pipeline, at });
    assert.equal(image?.status, "AVAILABLE");
    return image;
  };
  const newAmiOf = (image: { amis: ReadonlyArray<{ accountId: string; image: string }> }) =>
    image.amis.find((ami) => ami.accountId === DEV)?.image ?? "";

  /** One rollout of base-al2023 over every shape; each test below reads its outcome. */
  let rolled: {
    newAmi: string;
    imageArn: string;
    records: Map<string, GroupRecord>;
    paths: (group: SandboxGroup) => string[];
  };
  const rolledOnce = async () => {
    if (rolled) return rolled;
    const { world, lambda, dynamo } = sandbox.session;
    const image = await build("base-al2023");
    const newAmi = newAmiOf(image);
    // Another team's refresh, with a desired configuration, runs on "busy" when we roll: pinning
    // the group is refused while it runs.
    startOtherTeamsRefresh(world, shapes.busy);
    await lambda.run(world.clock.now() + 3 * 3600_000);
    const records = new Map(
      (
        await listGroups(dynamo.db, dynamo.table, image.arn, { accountId: DEV, region: REGION })
      ).map((group) => [group.group, group]),
    );
    rolled = {
      newAmi,
      imageArn: image.arn,
      records,
      paths: (group) =>
        world.autoScaling
          .launchPathImages(group)
          .map((path) => `${path.path}: ${path.imageId === newAmi ? "new" : path.imageId}`),
    };
    return rolled;
  };

  it("attribute-based: pointed at the new version, then refreshed without a desired configuration or skip matching", async () => {
    const { world } = sandbox.session;
    const { records, paths } = await rolledOnce();
    // AWS refuses both for such a group (instance-refresh-overview, "Limitations").
    const refreshes = world.autoScaling.refreshes.filter((refresh) => refresh.group === shapes.abs);
    assert.equal(refreshes.length, 1, records.get(shapes.abs.name)?.reason);
    assert.deepEqual(refreshes[0]?.desiredConfiguration, {});
    // Not even `false`: the guide says to start it "without these parameters".
    assert.ok(!("SkipMatching" in (refreshes[0]?.preferences ?? {})));
    assert.ok(!("AutoRollback" in (refreshes[0]?.preferences ?? {})));
    assert.equal(refreshes[0]?.status, "Successful");
    assert.equal(records.get(shapes.abs.name)?.status, "succeeded");
    assert.equal(records.get(shapes.abs.name)?.rolledBy, "group-update");
    assert.deepEqual(paths(shapes.abs), [
      "launch template: new",
      "override 1 (instance requirements): new",
    ]);
  });

  it("multi-architecture: the override on our old AMI gets the new one, another team's AMI is left alone", async () => {
    const { records, paths } = await rolledOnce();
    assert.equal(records.get(shapes.multiarch.name)?.status, "succeeded");
    assert.deepEqual(paths(shapes.multiarch), [
      "launch template: new",
      "override 1 (m7i.large): new",
      `override 2 (m7g.large): ${ARM_AMI}`,
    ]);
  });

  it("an override on an earlier arm64 image of this pipeline: the group is reported, not half-updated", async () => {
    const { world, dynamo } = sandbox.session;
    const { records, newAmi, imageArn, paths } = await rolledOnce();
    const target = await getTarget(dynamo.db, dynamo.table, imageArn, {
      accountId: DEV,
      region: REGION,
    });
    assert.equal(records.get(shapes.blocked.name), undefined);
    assert.match(
      target?.unsupportedGroups?.find((group) => group.name === shapes.blocked.name)?.reason ?? "",
      new RegExp(`${OUR_OLD_ARM_AMI} \\(arm64\\).*${newAmi} is x86_64`),
    );
    assert.equal(
      world.autoScaling.refreshes.filter((refresh) => refresh.group === shapes.blocked).length,
      0,
    );
    assert.ok(paths(shapes.blocked).every((path) => !path.endsWith(": new")));
  });

  it("another team's refresh refuses the pin: cancelled (whenInProgress: cancel), then the group is rolled", async () => {
    const { world } = sandbox.session;
    const { records } = await rolledOnce();
    const cancels = world.calls.filter(
      (call) =>
        call.operation === "CancelInstanceRefresh" &&
        (call.input as { AutoScalingGroupName?: string }).AutoScalingGroupName === shapes.busy.name,
    );
    assert.equal(cancels.length, 1);
    assert.equal(
      records.get(shapes.busy.name)?.status,
      "succeeded",
      records.get(shapes.busy.name)?.reason,
    );
  });

  it("the doctor reports each shape as a rollout rolls it, in the same words, read-only", async () => {
    const { world, handlers } = sandbox.session;
    await rolledOnce();
    const before = world.mutatingCalls().length;
    const report = (await handlers.watchRollouts(
      { action: "doctor", pipeline: "base-al2023" },
      fakeContext("watch-rollouts"),
    )) as DoctorReport;
    assert.equal(world.mutatingCalls().length, before);
    const shape = (group: SandboxGroup) =>
      report.pipelines
        .flatMap((pipeline) => pipeline.targets)
        .flatMap((target) => target.checks)
        .find((check) => check.check === `shape of ${group.name}`);
    assert.equal(shape(shapes.abs)?.ok, true);
    assert.match(
      shape(shapes.abs)?.detail ?? "",
      /attribute-based instance types: the group is pointed at the new version/,
    );
    assert.equal(shape(shapes.multiarch)?.ok, true);
    assert.match(
      shape(shapes.multiarch)?.detail ?? "",
      new RegExp(`${ARM_AMI} \\(arm64\\) is not an image of this pipeline`),
    );
    assert.equal(shape(shapes.blocked)?.ok, false);
    assert.match(shape(shapes.blocked)?.detail ?? "", /one image cannot serve both architectures/);
  });

  it("an operator rollback puts every launch path back: ours for the attribute-based group, AWS's with the overrides' AMIs for the others", async () => {
    const { world, lambda, handlers } = sandbox.session;
    const { newAmi } = await rolledOnce();
    const previous = shapes.blocked.runningImageId;
    await handlers.watchRollouts(
      { action: "rollback", pipeline: "base-al2023" },
      fakeContext("watch-rollouts"),
    );
    await lambda.run(world.clock.now() + 3600_000);
    for (const group of [shapes.abs, shapes.multiarch]) {
      const images = world.autoScaling.launchPathImages(group).map((path) => path.imageId);
      assert.ok(!images.includes(newAmi), `${group.name}: ${images.join(", ")}`);
      assert.ok(images.includes(previous ?? ""), `${group.name}: ${images.join(", ")}`);
    }
    // The attribute-based group's rollback refresh, like its rollout, has no desired configuration.
    const absRefreshes = world.autoScaling.refreshesOf(shapes.abs);
    assert.equal(absRefreshes.length, 2);
    assert.deepEqual(absRefreshes[1]?.desiredConfiguration, {});
    assert.ok(
      world.autoScaling.launchPathImages(shapes.multiarch).some((path) => path.imageId === ARM_AMI),
    );
  });

  it("finds and rolls more than 50 named groups, 50 names per DescribeAutoScalingGroups", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    const image = await build("fleet");
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
