import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
} from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { advanceRollout } from "../../lib/rollout/advance.ts";
import { pollRollouts } from "../../lib/rollout/poll.ts";
import {
  deactivateRollout,
  finishRollout,
  getRollout,
  loadRollout,
  putGroup,
  updateGroupRefresh,
} from "../../lib/rollout/store.ts";
import { recordTargetOutcome } from "../../lib/rollout/wave-progress.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import {
  appPipelineConfig,
  appTarget,
  devWaveRefreshing,
  mockedRolloutQueue,
  queueDeps,
} from "../helpers/rollout-records.ts";

const sqs = mockedRolloutQueue();
const autoScaling = mockClient(AutoScalingClient);
const config = appPipelineConfig();
const NOW = "2026-11-23T08:00:00.000Z";
const dev = appTarget("dev", 0, "ami-0d");
const prod = appTarget("prod", 1, "ami-0p");

describe("concurrent watchers on a real local DynamoDB", () => {
  const dynamo = localDynamoSuite();
  beforeEach(() => {
    autoScaling.reset();
  });

  /** A rollout whose dev wave was sent and whose only refresh is running. */
  const devRefreshing = () =>
    devWaveRefreshing(dynamo, { targets: [dev, prod], at: NOW, refreshIdPrefix: "r-" });
  const deps = () => queueDeps(dynamo, config, Date.parse("2026-11-23T09:00:00Z"));

  it("an event and a poll reporting the same outcome concurrently record it once", async () => {
    const { rolloutId, group } = await devRefreshing();
    const success = { refreshStatus: "Successful", status: "succeeded" as const, finishedAt: NOW };
    const results = await Promise.all([
      updateGroupRefresh(dynamo.db, dynamo.table, rolloutId, group, success, NOW),
      updateGroupRefresh(dynamo.db, dynamo.table, rolloutId, group, success, NOW),
    ]);
    assert.deepEqual(results.sort(), [false, true]);
    // A late "Started" event cannot move a finished refresh back.
    assert.equal(
      await updateGroupRefresh(
        dynamo.db,
        dynamo.table,
        rolloutId,
        group,
        { refreshStatus: "InProgress", status: "refresh-started" },
        NOW,
      ),
      false,
    );
    // Nor can an event about another refresh of the group.
    assert.equal(
      await updateGroupRefresh(
        dynamo.db,
        dynamo.table,
        rolloutId,
        { ...group, instanceRefreshId: "other" },
        success,
        NOW,
      ),
      false,
    );
  });

  it("two watchers racing to start the next wave send it once", async () => {
    const { rolloutId, group } = await devRefreshing();
    await updateGroupRefresh(
      dynamo.db,
      dynamo.table,
      rolloutId,
      group,
      { refreshStatus: "Successful", status: "succeeded", finishedAt: NOW },
      NOW,
    );
    // As applyRefreshEvent and the poll do once a group's refresh ended.
    await recordTargetOutcome(dynamo.db, dynamo.table, rolloutId, group, NOW);

    const outcomes = await Promise.all([
      advanceRollout(rolloutId, deps()),
      advanceRollout(rolloutId, deps()),
      advanceRollout(rolloutId, deps()),
    ]);

    assert.equal(outcomes.filter((outcome) => outcome.decision.action === "dispatch").length, 1);
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 1);
    assert.equal((await getRollout(dynamo.db, dynamo.table, rolloutId))?.dispatchedWave, 1);
  });

  it("a failure is reported by exactly one of the watchers that see it", async () => {
    const { rolloutId, group } = await devRefreshing();
    await updateGroupRefresh(
      dynamo.db,
      dynamo.table,
      rolloutId,
      group,
      {
        refreshStatus: "Failed",
        status: "failed",
        statusReason: "health checks failed",
        finishedAt: NOW,
      },
      NOW,
    );
    await recordTargetOutcome(dynamo.db, dynamo.table, rolloutId, group, NOW);

    const outcomes = await Promise.all([
      advanceRollout(rolloutId, deps()),
      advanceRollout(rolloutId, deps()),
    ]);

    assert.deepEqual(outcomes.map((outcome) => outcome.ended).sort(), [false, true]);
    const record = await getRollout(dynamo.db, dynamo.table, rolloutId);
    assert.equal(record?.status, "failed");
    assert.match(record?.reason ?? "", /dev\/eu-west-1\/web: Failed: health checks failed/);
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
  });

  it("a poll cut short by its time budget resumes where it stopped, and the advance never waits on it", async () => {
    const { rolloutId } = await devRefreshing();
    // Five more groups refreshing on the dev target: six refreshes to read.
    for (const name of ["a", "b", "c", "d", "e"])
      await putGroup(dynamo.db, dynamo.table, rolloutId, {
        group: name,
        accountId: dev.accountId,
        region: dev.region,
        status: "refresh-started",
        instanceRefreshId: `r-${rolloutId}-${name}`,
        updatedAt: NOW,
      });
    const described: string[] = [];
    autoScaling.on(DescribeInstanceRefreshesCommand).callsFake((input) => {
      described.push(String(input.AutoScalingGroupName));
      return {
        InstanceRefreshes: [
          { InstanceRefreshId: input.InstanceRefreshIds?.[0], Status: "InProgress" },
        ],
      };
    });
    const poll = (reads: number) => {
      let left = reads;
      return pollRollouts(
        {
          ...deps(),
          autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
          ec2: () => new EC2Client({ region: "eu-west-1" }),
        },
        // The budget runs out after `reads` refreshes.
        { timeLeftMs: () => (left-- > 0 ? 1 : 0) },
      );
    };
    await poll(2);
    const first = described.splice(0);
    await poll(2);
    const second = described.splice(0);
    await poll(10);
    const third = described.splice(0);
    assert.equal(first.length, 2);
    assert.equal(second.length, 2);
    assert.equal(new Set([...first, ...second]).size, 4, "the second poll went on from the first");
    // The third poll, with time for all, read the two left first, then the rest.
    assert.deepEqual(
      third.slice(0, 2).sort(),
      ["a", "b", "c", "d", "e", "web"]
        .filter((name) => ![...first, ...second].includes(name))
        .sort(),
    );
    assert.equal(third.length, 6);
    // Out of the polls of the tests below.
    await deactivateRollout(dynamo.db, dynamo.table, rolloutId);
  });

  it("the poll cancels a superseded rollout's running refreshes when onSupersede is cancel", async () => {
    const { rolloutId, group } = await devRefreshing();
    await finishRollout(
      dynamo.db,
      dynamo.table,
      rolloutId,
      "superseded",
      { supersededBy: "app/1.0.0/99" },
      NOW,
    );
    autoScaling
      .on(DescribeInstanceRefreshesCommand)
      .resolvesOnce({
        InstanceRefreshes: [{ InstanceRefreshId: group.instanceRefreshId, Status: "InProgress" }],
      })
      .resolves({
        InstanceRefreshes: [
          {
            InstanceRefreshId: group.instanceRefreshId,
            Status: "Cancelled",
            EndTime: new Date(NOW),
          },
        ],
      });
    autoScaling.on(CancelInstanceRefreshCommand).resolves({});
    const cancelling = appPipelineConfig({ extra: "      onSupersede: cancel" });

    const [outcome] = (
      await pollRollouts({
        ...deps(),
        config: cancelling,
        autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
        ec2: () => new EC2Client({ region: "eu-west-1" }),
      })
    ).filter((polled) => polled.rolloutId === rolloutId);

    assert.deepEqual(outcome?.cancelled, ["web"]);
    assert.deepEqual(autoScaling.commandCalls(CancelInstanceRefreshCommand)[0]?.args[0].input, {
      AutoScalingGroupName: "web",
    });
    const state = await loadRollout(dynamo.db, dynamo.table, rolloutId);
    assert.equal(state?.groups[0]?.refreshStatus, "Cancelled");
    const sent = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => JSON.parse(entry.MessageBody ?? "{}").rolloutId);
    assert.ok(!sent.includes(rolloutId), "a superseded rollout sends no wave");
  });

  it("by default a superseded rollout's refreshes finish on their own", async () => {
    const { rolloutId, group } = await devRefreshing();
    await finishRollout(
      dynamo.db,
      dynamo.table,
      rolloutId,
      "superseded",
      { supersededBy: "app/1.0.0/99" },
      NOW,
    );
    autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        {
          InstanceRefreshId: group.instanceRefreshId,
          Status: "InProgress",
          PercentageComplete: 40,
        },
      ],
    });

    await pollRollouts({
      ...deps(),
      autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
      ec2: () => new EC2Client({ region: "eu-west-1" }),
    });

    assert.equal(autoScaling.commandCalls(CancelInstanceRefreshCommand).length, 0);
    const state = await loadRollout(dynamo.db, dynamo.table, rolloutId);
    assert.equal(state?.groups[0]?.percentageComplete, 40);
  });
  describe("bakes: AWS's EndTime for when a refresh ended, our clock for now", () => {
    const baking = appPipelineConfig({
      waves: "[{ name: dev, accounts: [dev], bakeMinutes: 60 }, { name: prod, accounts: [prod] }]",
    });
    /** The dev refresh ended at 08:00 by AWS (EndTime); a poll when our clock says `now`. */
    const pollAt = async (now: string) => {
      const { rolloutId, group } = await devRefreshing();
      autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
        InstanceRefreshes: [
          {
            InstanceRefreshId: group.instanceRefreshId,
            Status: "Successful",
            EndTime: new Date(NOW),
          },
        ],
      });
      const outcomes = await pollRollouts({
        ...deps(),
        config: baking,
        clock: { now: () => Date.parse(now) },
        autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
        ec2: () => new EC2Client({ region: "eu-west-1" }),
      });
      return outcomes.find((outcome) => outcome.rolloutId === rolloutId)?.advance.decision;
    };

    it("five minutes before the 60-minute bake ends, the next wave waits", async () => {
      const decision = await pollAt("2026-11-23T08:55:00Z");
      assert.deepEqual(decision, {
        action: "wait",
        reason: 'wave "dev" baking before "prod"',
        until: "2026-11-23T09:00:00.000Z",
      });
    });

    it("once it has ended, the next wave goes", async () => {
      const decision = await pollAt("2026-11-23T09:01:00Z");
      assert.deepEqual(decision, { action: "dispatch", waveIndex: 1, wave: "prod" });
    });
  });
});
