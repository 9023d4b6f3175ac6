import assert from "node:assert/strict";
import { defineFaultSuite } from "../helpers/fault-suite.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

/** More names than one DescribeAutoScalingGroups call takes (AutoScalingGroupNames: 50 at most). */
const NAMES = Array.from({ length: 60 }, (_, i) => `fleet-${String(i + 1).padStart(2, "0")}`);

/**
 * Its own process: the handlers load this config (groups by name, whenInProgress: cancel) once
 * per container, as in Lambda. The other group shapes are rows of faults.test.ts.
 */
defineFaultSuite(
  "fault injection over 60 named groups",
  1,
  (ACCOUNTS) => [
    {
      fault: "60 named groups in each region (50 names per DescribeAutoScalingGroups): rolled",
      inject: () => undefined,
      expect: "succeeded",
      check: (state, { world }) => {
        assert.equal(state.groups.length, 120);
        const sizes = world.calls
          .filter((call) => call.operation === "DescribeAutoScalingGroups" && !call.error)
          .map(
            (call) =>
              (call.input as { AutoScalingGroupNames?: string[] }).AutoScalingGroupNames?.length,
          )
          .filter((size) => size !== undefined);
        assert.ok(
          sizes.length > 0 && Math.max(...sizes) <= 50,
          `names per call: ${sizes.join(",")}`,
        );
      },
    },
    {
      fault:
        "another team's refresh on a named group (whenInProgress: cancel): cancelled, then rolled",
      inject: ({ world }) => {
        // Their refresh, started just before ours: StartInstanceRefresh is refused while it runs.
        world.autoScaling.operations.StartInstanceRefresh({
          accountId: ACCOUNTS[0]?.id,
          region: "eu-west-1",
          input: { AutoScalingGroupName: "fleet-60" },
        } as never);
        return undefined;
      },
      expect: "succeeded",
      check: (state, { world }) => {
        const cancels = world.calls.filter(
          (call) =>
            call.operation === "CancelInstanceRefresh" &&
            !call.error &&
            (call.input as { AutoScalingGroupName?: string }).AutoScalingGroupName === "fleet-60",
        );
        assert.equal(cancels.length, 1, "their refresh cancelled once");
        const theirs = world.autoScaling.refreshes.find(
          (refresh) =>
            refresh.group.name === "fleet-60" &&
            refresh.group.region === "eu-west-1" &&
            Object.keys(refresh.desiredConfiguration).length === 0,
        );
        assert.equal(theirs?.status, "Cancelled");
        const record = state.groups.find(
          (group) => group.group === "fleet-60" && group.region === "eu-west-1",
        );
        assert.equal(record?.status, "succeeded", record?.reason);
      },
    },
  ],
  { groupNames: NAMES, whenInProgress: "cancel" },
);
