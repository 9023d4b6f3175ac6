import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  StartInstanceRefreshCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { mockClient } from "aws-sdk-client-mock";
import { rollByGroupUpdate } from "../../../lib/auto-scaling/group-update.ts";
import type { DiscoveredGroup } from "../../../lib/auto-scaling/groups.ts";
import {
  type InstanceRefreshSettings,
  makeWayForOurRefresh,
} from "../../../lib/auto-scaling/instance-refresh.ts";

const autoscaling = mockClient(AutoScalingClient);
const client = new AutoScalingClient({});
const SINCE = Date.parse("2026-11-23T03:00:00Z");

const abs: DiscoveredGroup = {
  name: "abs",
  launchTemplate: { launchTemplateId: "lt-abs", version: "3" },
  desiredCapacity: 3,
  attributeBased: true,
  overrideImageIds: [],
  mixedInstancesPolicy: {
    LaunchTemplate: {
      LaunchTemplateSpecification: { LaunchTemplateId: "lt-abs", Version: "3" },
      Overrides: [{ InstanceRequirements: { VCpuCount: { Min: 2 }, MemoryMiB: { Min: 4096 } } }],
    },
  },
};
const settings = (whenInProgress: "wait" | "cancel"): InstanceRefreshSettings => ({
  minHealthyPercentage: 90,
  skipMatching: true,
  autoRollback: true,
  whenInProgress,
  strategy: "Rolling",
});
const target = { launchTemplateId: "lt-abs", versionNumber: 4 };

describe("rolling an attribute-based group by updating it first", () => {
  beforeEach(() => autoscaling.reset());

  it("points the group at the new version, then refreshes without a desired configuration, skip matching or rollback", async () => {
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
    autoscaling.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: "r-1" });
    let pointed = false;
    const started = await rollByGroupUpdate(client, abs, target, settings("wait"), {
      since: SINCE,
      mayHaveStarted: false,
      onPointed: async () => {
        pointed = true;
      },
    });
    assert.deepEqual(started, { status: "started", instanceRefreshId: "r-1" });
    assert.ok(pointed);
    const update = autoscaling.commandCalls(UpdateAutoScalingGroupCommand)[0]?.args[0].input;
    assert.equal(
      update?.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version,
      "4",
    );
    const start = autoscaling.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input;
    assert.equal(start?.DesiredConfiguration, undefined);
    assert.ok(!("SkipMatching" in (start?.Preferences ?? {})));
    assert.ok(!("AutoRollback" in (start?.Preferences ?? {})));
  });

  it("does not touch the group while anyone's refresh runs on it, even one without a desired configuration (which AWS would let the update through)", async () => {
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        {
          InstanceRefreshId: "theirs",
          Status: "InProgress",
          StartTime: new Date(SINCE - 3600_000),
        },
      ],
    });
    const started = await rollByGroupUpdate(client, abs, target, settings("wait"), {
      since: SINCE,
      mayHaveStarted: true,
      onPointed: async () => assert.fail("must not point the group"),
    });
    assert.deepEqual(started, { status: "waiting-for-active-refresh" });
    assert.equal(autoscaling.commandCalls(UpdateAutoScalingGroupCommand).length, 0);
  });

  it("adopts its own refresh after a crash instead of waiting on it or cancelling it", async () => {
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        { InstanceRefreshId: "ours", Status: "InProgress", StartTime: new Date(SINCE + 5_000) },
      ],
    });
    const started = await rollByGroupUpdate(client, abs, target, settings("cancel"), {
      since: SINCE,
      mayHaveStarted: true,
      onPointed: async () => {},
    });
    assert.deepEqual(started, { status: "started", instanceRefreshId: "ours", adopted: true });
    assert.equal(autoscaling.commandCalls(CancelInstanceRefreshCommand).length, 0);
  });
});

describe("making way for our refresh", () => {
  beforeEach(() => autoscaling.reset());

  for (const status of ["Baking", "RollbackInProgress", "Cancelling"] as const)
    it(`waits for a refresh that is ${status}, even with whenInProgress: cancel`, async () => {
      autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
        InstanceRefreshes: [{ InstanceRefreshId: "theirs", Status: status }],
      });
      assert.deepEqual(await makeWayForOurRefresh(client, "web", settings("cancel")), {
        status: "waiting-for-active-refresh",
      });
      assert.equal(autoscaling.commandCalls(CancelInstanceRefreshCommand).length, 0);
    });

  it("cancels one that is replacing instances, with whenInProgress: cancel", async () => {
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [{ InstanceRefreshId: "theirs", Status: "InProgress" }],
    });
    autoscaling.on(CancelInstanceRefreshCommand).resolves({ InstanceRefreshId: "theirs" });
    assert.deepEqual(await makeWayForOurRefresh(client, "web", settings("cancel")), {
      status: "cancelling-active-refresh",
    });
  });
});
