import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import { makeHandler } from "../../../functions/alerts.ts";
import { InvalidEventError } from "../../../lib/errors.ts";
import { createLogger } from "../../../lib/observability/index.ts";
import { fakeContext } from "../../../sandbox/lambda.ts";
import { recordingObservability, theOnlyError } from "../../helpers/observability.ts";

const sqsRecord = (messageId: string, body: string, receiveCount = 1): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body,
  attributes: {
    ApproximateReceiveCount: String(receiveCount),
    SentTimestamp: "1767225600000",
    SenderId: "AIDAEXAMPLE",
    ApproximateFirstReceiveTimestamp: "1767225600000",
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:eu-west-1:999999999999:ami-orchestrator-prod-alerts",
  awsRegion: "eu-west-1",
});

const snsEvent = (message: string) => ({
  Records: [
    {
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: "arn:aws:sns:eu-west-1:999999999999:alarms:sub",
      Sns: {
        MessageId: "n-1",
        TopicArn: "arn:aws:sns:eu-west-1:999999999999:alarms",
        Message: message,
      },
    },
  ],
});

const setup = (logger?: Logger) => {
  const { logged, counted, observability } = recordingObservability(logger);
  let depsUsed = false;
  const handler = makeHandler(() => {
    depsUsed = true;
    throw new Error("a rejected event must not reach any dependency");
  }, observability);
  return {
    logged,
    counted,
    depsUsed: () => depsUsed,
    invoke: (event: unknown) => handler(event as never, fakeContext("alerts")),
  };
};

describe("alerts: events it cannot read", () => {
  for (const [name, event, field] of [
    ["a null event", null, /<event>/],
    ["an empty event {}", {}, /Records/],
    [
      "a record of neither SQS nor SNS",
      { Records: [{ eventSource: "aws:kinesis" }] },
      /Records\[0\]/,
    ],
  ] as const) {
    it(`${name} is a named InvalidEventError, not a TypeError, and is counted`, async () => {
      const { invoke, counted, logged, depsUsed } = setup();
      await assert.rejects(invoke(event), (error: unknown) => {
        assert.ok(error instanceof InvalidEventError, String(error));
        assert.match(error.message, field);
        return true;
      });
      assert.deepEqual(counted, ["AlertsEventRejected"]);
      assert.equal(logged.filter((log) => log.message === "rejected malformed event").length, 1);
      assert.equal(depsUsed(), false);
    });
  }

  it("a non-JSON alarm message is an InvalidEventError naming Sns.Message, for the failed-events queue", async () => {
    const { invoke, counted, depsUsed } = setup();
    await assert.rejects(invoke(snsEvent("ALARM! queue full")), (error: unknown) => {
      assert.ok(error instanceof InvalidEventError, String(error));
      assert.match(error.message, /Sns\.Message: not JSON/);
      assert.deepEqual(
        error.problems.map((problem) => problem.field),
        ["Sns.Message"],
      );
      return true;
    });
    assert.deepEqual(counted, ["AlarmNotificationRejected"]);
    assert.equal(depsUsed(), false);
  });

  it("an alarm message without its fields names them", async () => {
    const { invoke } = setup();
    await assert.rejects(invoke(snsEvent("{}")), /AlarmName: .*NewStateValue/s);
  });
});

describe("alerts: poison messages on the alerts queue", () => {
  it("a body that is not JSON is logged once with its message id, field and reason, counted, and failed for the DLQ", async () => {
    const { invoke, logged, counted, depsUsed } = setup();
    const response = await invoke({ Records: [sqsRecord("m-not-json", "send an alert")] });
    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: "m-not-json" }] });
    assert.deepEqual(counted, ["AlertMessageRejected"]);
    const { fields } = theOnlyError(logged);
    assert.equal(fields.messageId, "m-not-json");
    assert.equal(fields.field, "body");
    assert.match(String(fields.reason), /not JSON/);
    assert.equal(depsUsed(), false);
  });

  it("an alert of an unknown kind names the field; its redeliveries are not logged again", async () => {
    const { invoke, logged, counted } = setup();
    const body = JSON.stringify({ kind: "everything-is-fine" });
    await invoke({ Records: [sqsRecord("m-kind", body, 1)] });
    const response = await invoke({ Records: [sqsRecord("m-kind", body, 2)] });
    assert.deepEqual(response, { batchItemFailures: [{ itemIdentifier: "m-kind" }] });
    assert.deepEqual(counted, ["AlertMessageRejected"]);
    assert.equal(theOnlyError(logged).fields.field, "kind");
  });

  it("secrets in a rejected message never reach the log", async () => {
    // What the logger prints, as Lambda would ship it to CloudWatch Logs.
    const lines: string[] = [];
    const logger = createLogger({ logLevel: "INFO" });
    const print = (line: string) => lines.push(line);
    (logger as unknown as { console: unknown }).console = {
      debug: print,
      info: print,
      warn: print,
      error: print,
      log: print,
      trace: print,
    };
    const { invoke } = setup(logger);
    await invoke({
      Records: [
        sqsRecord(
          "m-secret",
          JSON.stringify({
            kind: "build-failed",
            imageArn: "password=hunter2 AKIAIOSFODNN7EXAMPLE",
          }),
        ),
      ],
    });
    const log = lines.join("");
    assert.match(log, /m-secret/);
    assert.match(log, /password=\*\*\*\*/);
    assert.doesNotMatch(log, /hunter2|IOSFODNN7EXAMPLE/);
  });
});
