import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { AutoScalingClient, DescribeInstanceRefreshesCommand } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { makeHandler } from "../../functions/watch-rollouts.ts";
import { InvalidEventError } from "../../lib/errors.ts";
import { getRollout } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import { recordingObservability, theOnlyError } from "../helpers/observability.ts";
import {
  appPipelineConfig,
  appTarget,
  devWaveRefreshing,
  mockedRolloutQueue,
  queueDeps,
} from "../helpers/rollout-records.ts";

const sqs = mockedRolloutQueue();
const autoScaling = mockClient(AutoScalingClient);

/** Our clock: 09:00, one hour into the dev wave's 240-minute bake (its refresh ended at 08:00). */
const NOW = Date.parse("2026-11-23T09:00:00Z");
const ENDED = "2026-11-23T08:00:00.000Z";
const POLL_RULE =
  "arn:aws:events:eu-west-1:999999999999:rule/ami-orchestrator-test-watch-rollouts-poll";
const pipeline = (extra = "") =>
  appPipelineConfig({
    waves: "[{ name: dev, accounts: [dev], bakeMinutes: 240 }, { name: prod, accounts: [prod] }]",
    extra,
  });

/** EventBridge's event for a scheduled rule (EventBridge user guide, "Scheduled Event"). */
const scheduledEvent = (time: string, rule = POLL_RULE) => ({
  version: "0",
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "999999999999",
  time,
  region: "eu-west-1",
  resources: [rule],
  detail: {},
});

const dev = appTarget("dev", 0, "ami-00");
const prod = appTarget("prod", 1, "ami-01");

describe("watch-rollouts believes no event's time: bakes and freezes run on our clock", () => {
  const dynamo = localDynamoSuite();
  beforeEach(() => {
    autoScaling.reset();
  });

  /** A rollout whose dev wave was sent and whose only refresh is still running, as recorded. */
  const devRefreshing = async () => {
    const { rolloutId, group } = await devWaveRefreshing(dynamo, {
      targets: [dev, prod],
      at: new Date(NOW - 2 * 3_600_000).toISOString(),
      refreshIdPrefix: "r-trust-",
    });
    return { rolloutId, instanceRefreshId: group.instanceRefreshId };
  };

  const setup = (config = pipeline()) => {
    const { observability, logged, counted } = recordingObservability();
    const handler = makeHandler(
      () => ({
        ...queueDeps(dynamo, config, NOW),
        autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
        ec2: () => new EC2Client({ region: "eu-west-1" }),
      }),
      observability,
      { pollRuleArn: () => POLL_RULE },
    );
    return {
      logged,
      counted,
      invoke: (event: unknown) => handler(event, fakeContext("watch-rollouts")),
    };
  };

  /** AWS says the dev refresh succeeded at 08:00 (DescribeInstanceRefreshes EndTime). */
  const devEndedAtEight = (instanceRefreshId: string) =>
    autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        { InstanceRefreshId: instanceRefreshId, Status: "Successful", EndTime: new Date(ENDED) },
      ],
    });

  const decisionFor = (result: unknown, rolloutId: string) =>
    (
      result as { outcomes: Array<{ rolloutId: string; advance: { decision: unknown } }> }
    ).outcomes.find((outcome) => outcome.rolloutId === rolloutId)?.advance.decision;

  it("a forged scheduled event one day ahead, mid-bake, dispatches nothing", async () => {
    const { rolloutId, instanceRefreshId } = await devRefreshing();
    devEndedAtEight(instanceRefreshId);
    const { invoke } = setup();

    const result = await invoke(scheduledEvent(new Date(NOW + 86_400_000).toISOString()));

    assert.deepEqual(decisionFor(result, rolloutId), {
      action: "wait",
      reason: 'wave "dev" baking before "prod"',
      until: "2026-11-23T12:00:00.000Z",
    });
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
    assert.equal((await getRollout(dynamo.db, dynamo.table, rolloutId))?.dispatchedWave, 0);
  });

  it("a refresh event dated the day before cannot end the bake: it starts when we learn of it", async () => {
    const { rolloutId, instanceRefreshId } = await devRefreshing();
    const { invoke } = setup();

    await invoke({
      version: "0",
      id: "e0a2f6b4-7d5c-9ebf-3a4b-5c6d7e8f9a01",
      "detail-type": "EC2 Auto Scaling Instance Refresh Succeeded",
      source: "aws.autoscaling",
      account: dev.accountId,
      time: new Date(NOW - 86_400_000).toISOString(),
      region: dev.region,
      resources: [],
      detail: { InstanceRefreshId: instanceRefreshId, AutoScalingGroupName: "web" },
    });
    // The next genuine poll, at our 09:00.
    const result = await invoke(scheduledEvent(new Date(NOW).toISOString()));

    assert.deepEqual(decisionFor(result, rolloutId), {
      action: "wait",
      reason: 'wave "dev" baking before "prod"',
      until: "2026-11-23T13:00:00.000Z",
    });
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
  });

  it("a scheduled event dated after a freeze window does not lift the freeze", async () => {
    const { rolloutId, instanceRefreshId } = await devRefreshing();
    autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        {
          InstanceRefreshId: instanceRefreshId,
          Status: "Successful",
          EndTime: new Date(NOW - 86_400_000),
        },
      ],
    });
    const { invoke } = setup(
      pipeline(`    freeze: [{ from: "2026-11-23", to: "2026-11-24", reason: release week }]`),
    );

    const result = await invoke(scheduledEvent("2026-11-25T09:00:00Z"));

    assert.deepEqual(decisionFor(result, rolloutId), {
      action: "wait",
      reason: "freeze window 2026-11-23 → 2026-11-24 (release week)",
      until: "2026-11-25T00:00:00.000Z",
    });
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
  });

  for (const [what, resources] of [
    ["another rule", ["arn:aws:events:eu-west-1:999999999999:rule/someone-elses-rule"]],
    [
      "a rule of the same name in another account",
      ["arn:aws:events:eu-west-1:333333333333:rule/ami-orchestrator-test-watch-rollouts-poll"],
    ],
    ["no rule at all", []],
  ] as const) {
    it(`a scheduled event from ${what} is refused: logged, counted, not acted on`, async () => {
      await devRefreshing();
      const { invoke, logged, counted } = setup();

      await assert.rejects(
        invoke({ ...scheduledEvent(new Date(NOW).toISOString()), resources }),
        (error: unknown) =>
          error instanceof InvalidEventError && /not this stack's poll rule/.test(error.message),
      );

      assert.equal(theOnlyError(logged).message, "rejected malformed event");
      assert.deepEqual(counted, ["WatchRequestRejected"]);
      assert.equal(autoScaling.commandCalls(DescribeInstanceRefreshesCommand).length, 0);
      assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
    });
  }
});
