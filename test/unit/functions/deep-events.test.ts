import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import { makeHandler as alerts } from "../../../functions/alerts.ts";
import { makeHandler as explainLaunchFailure } from "../../../functions/explain-launch-failure.ts";
import { makeHandler as onImageState } from "../../../functions/on-image-state.ts";
import { makeHandler as rollOutTarget } from "../../../functions/roll-out-target.ts";
import { makeHandler as startPipelines } from "../../../functions/start-pipelines.ts";
import { makeHandler as watchRollouts } from "../../../functions/watch-rollouts.ts";
import { InvalidEventError } from "../../../lib/errors.ts";
import { fakeContext } from "../../../sandbox/lambda.ts";
import { loadEvent } from "../../helpers/fixtures.ts";

const DEPTH = 60_000;
/** JSON text nested DEPTH levels deep: arrays, or objects. */
const deepArrayText = "[".repeat(DEPTH) + "]".repeat(DEPTH);
const deepObjectText = `${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}`;
/** The same, as the Lambda runtime hands a handler an invocation payload it parsed. */
const deepObject = (): Record<string, unknown> => JSON.parse(deepObjectText);
const deepArray = (): unknown[] => JSON.parse(deepArrayText);

/**
 * A real Powertools logger whose output is captured: what a rejection logs goes through the same
 * serialisation as in Lambda (JSON.stringify of the whole entry), which is what a deep value breaks.
 */
const capture = () => {
  const logger = new Logger({ serviceName: "test", logLevel: "INFO" });
  const lines: Array<Record<string, unknown>> = [];
  const write = (text: string) => lines.push(JSON.parse(text) as Record<string, unknown>);
  (logger as unknown as { console: Record<string, (text: string) => void> }).console = {
    debug: write,
    info: write,
    warn: write,
    error: write,
    log: write,
    trace: write,
  };
  const counted: string[] = [];
  return {
    lines,
    counted,
    observability: { logger, metrics: { count: (name: string) => counted.push(name) } },
  };
};

/** Nothing a rejection needs: reaching the AWS clients or the config would be a bug. */
const unreachable = (): never => {
  throw new Error("a rejected event must not reach the handler's dependencies");
};

type Invoke = (event: unknown, context: Context) => Promise<unknown>;

/** A Lambda event handler: the deep event is refused as an InvalidEventError, logged once, counted. */
const rejectsLoggedAndCounted = async (
  build: (observability: ReturnType<typeof capture>["observability"]) => Invoke,
  name: string,
  event: unknown,
  metric: string,
) => {
  const { lines, counted, observability } = capture();
  const handler = build(observability);
  await assert.rejects(handler(event, fakeContext(name)), (error: unknown) => {
    assert.ok(error instanceof InvalidEventError, `not an InvalidEventError: ${String(error)}`);
    assert.match(error.message, /nested deeper than 64|larger than/);
    return true;
  });
  const errors = lines.filter((line) => line.level === "ERROR");
  assert.equal(errors.length, 1, `one error logged, not ${errors.length}`);
  assert.match(JSON.stringify(errors[0]), /nested deeper than 64|larger than/);
  assert.deepEqual(counted, [metric]);
};

const snsEvent = (message: string) => {
  const event = loadEvent<{ Records: Array<{ Sns: { Message: string } }> }>(
    "imagebuilder-sns-available",
  );
  for (const record of event.Records) record.Sns.Message = message;
  return event;
};

const sqsEvent = (body: string) => ({
  Records: [
    {
      messageId: "2e1424d4-f796-459a-8184-9c92662be6da",
      receiptHandle: "AQEB",
      body,
      attributes: { ApproximateReceiveCount: "1" },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:eu-west-1:999999999999:queue",
      awsRegion: "eu-west-1",
    },
  ],
});

describe("a message nested 60,000 levels deep is refused, logged and counted, never a crash", () => {
  const onImageStateHandler = (o: ReturnType<typeof capture>["observability"]) =>
    onImageState(unreachable, o) as Invoke;

  for (const [shape, text] of [
    ["arrays", deepArrayText],
    ["objects", deepObjectText],
  ] as const) {
    it(`on-image-state: an SNS message of nested ${shape}`, async () => {
      await rejectsLoggedAndCounted(
        onImageStateHandler,
        "on-image-state",
        snsEvent(text),
        "ImageEventRejected",
      );
    });
  }

  it("on-image-state: an EventBridge event with a deep detail", async () => {
    const event = loadEvent("imagebuilder-eventbridge-image-available");
    await rejectsLoggedAndCounted(
      onImageStateHandler,
      "on-image-state",
      { ...event, detail: deepObject() },
      "ImageEventRejected",
    );
  });

  it("watch-rollouts: a deep instance-refresh event and a deep operator action", async () => {
    const build = (o: ReturnType<typeof capture>["observability"]) =>
      watchRollouts(unreachable, o, { pollRuleArn: unreachable }) as Invoke;
    const event = loadEvent("asg-instance-refresh-succeeded");
    await rejectsLoggedAndCounted(
      build,
      "watch-rollouts",
      { ...event, detail: deepObject() },
      "WatchRequestRejected",
    );
    await rejectsLoggedAndCounted(
      build,
      "watch-rollouts",
      { action: "approve", wave: deepArray(), pipeline: "base-al2023" },
      "WatchRequestRejected",
    );
  });

  it("explain-launch-failure: a deep failed-launch event", async () => {
    const event = loadEvent("asg-launch-unsuccessful");
    await rejectsLoggedAndCounted(
      (o) => explainLaunchFailure(unreachable, o) as Invoke,
      "explain-launch-failure",
      { ...event, detail: deepObject() },
      "LaunchEventRejected",
    );
  });

  it("start-pipelines: a deep scheduler tick", async () => {
    await rejectsLoggedAndCounted(
      (o) => startPipelines(unreachable, o) as Invoke,
      "start-pipelines",
      { pipeline: deepArray() },
      "SchedulerTickRejected",
    );
  });

  it("alerts: a deep alarm notification over SNS", async () => {
    await rejectsLoggedAndCounted(
      (o) => alerts(unreachable, o) as Invoke,
      "alerts",
      snsEvent(deepObjectText),
      "AlarmNotificationRejected",
    );
  });

  for (const [name, build, metric] of [
    ["roll-out-target", rollOutTarget, "TargetMessageRejected"],
    ["alerts", alerts, "AlertMessageRejected"],
  ] as const) {
    for (const [shape, text] of [
      ["arrays", deepArrayText],
      ["objects", deepObjectText],
    ] as const) {
      it(`${name}: a queue message of nested ${shape} fails alone, logged once, for the DLQ`, async () => {
        const { lines, counted, observability } = capture();
        const handler = build(unreachable, observability) as Invoke;

        const response = await handler(sqsEvent(text), fakeContext(name));

        assert.deepEqual(response, {
          batchItemFailures: [{ itemIdentifier: "2e1424d4-f796-459a-8184-9c92662be6da" }],
        });
        const errors = lines.filter((line) => line.level === "ERROR");
        assert.equal(errors.length, 1, `one error logged, not ${errors.length}`);
        assert.match(String(errors[0]?.message), /rejected malformed queue message/);
        assert.match(JSON.stringify(errors[0]), /nested deeper than 64/);
        assert.deepEqual(counted, [metric]);
      });
    }
  }
});
