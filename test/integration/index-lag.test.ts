import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { advanceRollout } from "../../lib/rollout/advance.ts";
import type { RolloutTarget } from "../../lib/rollout/plan.ts";
import { getRollout, markWaveDispatched, putGroup, updateTarget } from "../../lib/rollout/store.ts";
import { recordTargetOutcome } from "../../lib/rollout/wave-progress.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import {
  appPipelineConfig,
  appRolloutPlanned,
  appTarget,
  mockedRolloutQueue,
  queueDeps,
} from "../helpers/rollout-records.ts";

const sqs = mockedRolloutQueue();
const config = appPipelineConfig();
const NOW = "2026-11-23T08:00:00.000Z";

/**
 * Every read of a global secondary index is eventually consistent (DynamoDB developer guide,
 * "Read consistency"), and dynalite's is not: the index is made to lag here, by dropping what a
 * Query on it returns, to show that no wave is dispatched short and no failure is missed because
 * the `progress` index has not caught up.
 */
describe("waves when the progress index lags behind the table", () => {
  let lagging = false;
  const dynamo = localDynamoSuite(({ db }) => {
    db.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const input = args.input as { IndexName?: string };
        if (lagging && input.IndexName) {
          const output = result.output as { Items?: unknown[]; Count?: number };
          output.Items = [];
          output.Count = 0;
        }
        return result;
      },
      { step: "initialize", name: "laggingIndex" },
    );
  });
  beforeEach(() => {
    lagging = false;
  });

  let builds = 0;
  const planned = async (targets: RolloutTarget[]) => {
    builds += 1;
    const rolloutId = `app/3.0.0/${builds}`;
    await appRolloutPlanned(dynamo, { rolloutId, targets, at: NOW });
    return rolloutId;
  };
  const deps = () => queueDeps(dynamo, config, Date.parse("2026-11-23T09:00:00Z"));
  const sentTargets = () =>
    sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => JSON.parse(entry.MessageBody ?? "{}").region);

  it("a wave just planned is sent whole, though the index has none of it yet", async () => {
    const targets = ["eu-west-1", "eu-west-2", "eu-west-3"].map((region) => ({
      ...appTarget("dev", 0, "ami-0d"),
      region,
    }));
    const rolloutId = await planned([...targets, appTarget("prod", 1, "ami-0p")]);
    lagging = true;

    const outcome = await advanceRollout(rolloutId, deps());

    assert.equal(outcome.dispatchedTargets, 3);
    assert.deepEqual(sentTargets().sort(), ["eu-west-1", "eu-west-2", "eu-west-3"]);
  });

  it("a failed target the index does not show yet fails the rollout, never lets the next wave go", async () => {
    const dev = appTarget("dev", 0, "ami-0d");
    const rolloutId = await planned([dev, appTarget("prod", 1, "ami-0p")]);
    await markWaveDispatched(dynamo.db, dynamo.table, rolloutId, 0, NOW);
    await updateTarget(dynamo.db, dynamo.table, rolloutId, dev, { status: "refreshing" }, NOW);
    await putGroup(dynamo.db, dynamo.table, rolloutId, {
      group: "web",
      accountId: dev.accountId,
      region: dev.region,
      status: "failed",
      reason: "instances failed health checks",
      updatedAt: NOW,
    });
    await recordTargetOutcome(dynamo.db, dynamo.table, rolloutId, dev, NOW);
    // The index shows neither the failure nor anything open: the wave looks done and clean.
    lagging = true;

    const outcome = await advanceRollout(rolloutId, deps());

    assert.equal(outcome.decision.action, "fail");
    assert.equal(sentTargets().length, 0, "the prod wave is not sent");
    assert.equal((await getRollout(dynamo.db, dynamo.table, rolloutId))?.status, "failed");
  });
});
