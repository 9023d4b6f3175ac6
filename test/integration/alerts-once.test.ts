import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { PublishCommand } from "@aws-sdk/client-sns";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import fc from "fast-check";
import { makeHandler } from "../../functions/alerts.ts";
import { deliverAlert } from "../../lib/alerts/deliver.ts";
import type { Alert } from "../../lib/alerts/types.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import type { SlackReceiver } from "../../sandbox/slack-receiver.ts";
import { alertDeliverySuite } from "../helpers/alert-delivery.ts";
import { interleave } from "../helpers/interleavings.ts";
import { recordingObservability } from "../helpers/observability.ts";

let queue = 0;
/** A new alert each time (its own key), so runs never see each other's records. */
const deadLetters = (): Alert => {
  queue += 1;
  return {
    kind: "dead-letters",
    queue: `https://sqs.eu-west-1.amazonaws.com/999999999999/rollout-dlq-${queue}`,
    alarm: `rollout-dlq-${queue}-not-empty`,
  };
};

const sqsRecord = (messageId: string, alert: Alert): SQSRecord => ({
  messageId,
  receiptHandle: `rh-${messageId}`,
  body: JSON.stringify(alert),
  attributes: {
    ApproximateReceiveCount: "1",
    SentTimestamp: "1767225600000",
    SenderId: "AROAEXAMPLE:explain-launch-failure",
    ApproximateFirstReceiveTimestamp: "1767225600000",
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:eu-west-1:999999999999:ami-orchestrator-test-alerts",
  awsRegion: "eu-west-1",
});

/**
 * The same alert queued twice (a producer retried after a crash, or SQS delivered it twice) and
 * handled by concurrent deliveries: Slack and email each get it once, whatever the order in
 * which the deliveries' DynamoDB calls land.
 */
describe("one alert, delivered once under concurrency (dynalite, loopback Slack)", () => {
  const delivery = alertDeliverySuite({ maxAttempts: 2, timeoutMs: 1000 });
  const { dynamo, sns } = delivery;
  let slack: SlackReceiver;
  const deps = (db?: DynamoDBDocumentClient) => delivery.deps(db ? { db } : {});
  const postsOf = (alert: Alert) =>
    slack.messages.filter((message) =>
      JSON.stringify(message).includes(alert.kind === "dead-letters" ? alert.alarm : "?"),
    ).length;
  const publishesOf = (alert: Alert) =>
    sns
      .commandCalls(PublishCommand)
      .filter((call) =>
        (call.args[0].input.Message ?? "").includes(
          alert.kind === "dead-letters" ? alert.alarm : "?",
        ),
      ).length;

  before(() => {
    slack = delivery.slack;
  });

  it("a batch holding the same alert message twice posts to Slack once and publishes one email", async () => {
    const alert = deadLetters();
    const { observability } = recordingObservability();
    // The batch runs its records in parallel; the second record's read answers late, after the
    // first delivery released its lease: the read saw no channel sent, the lease is free.
    let released: () => void = () => {};
    const firstDone = new Promise<void>((resolve) => {
      released = resolve;
    });
    let reads = 0;
    const slowSecondRead = new Proxy(dynamo.db, {
      get: (target, property, receiver) =>
        property === "send"
          ? async (command: GetCommand | UpdateCommand) => {
              const output = await target.send(command as never);
              if (command instanceof GetCommand && ++reads === 2) await firstDone;
              if (
                command instanceof UpdateCommand &&
                command.input.UpdateExpression === "REMOVE leaseUntil"
              )
                released();
              return output;
            }
          : Reflect.get(target, property, receiver),
    }) as DynamoDBDocumentClient;
    const handler = makeHandler(
      () => ({ ...deps(slowSecondRead), diagnose: () => assert.fail("no build to diagnose") }),
      observability,
    );
    const event: SQSEvent = { Records: [sqsRecord("m-1", alert), sqsRecord("m-2", alert)] };

    const response = await handler(event as never, fakeContext("alerts"));

    assert.deepEqual(response, { batchItemFailures: [] });
    assert.equal(reads, 2, "both records read the alert's record");
    assert.equal(postsOf(alert), 1, "Slack posts");
    assert.equal(publishesOf(alert), 1, "SNS publishes");
  });

  it("whatever the order in which two deliveries' DynamoDB calls land, each channel sends once (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(1), { minLength: 12, maxLength: 12 }), async (order) => {
        const alert = deadLetters();
        const { results, steps } = await interleave(dynamo.db, order, [
          (db) => deliverAlert(alert, deps(db)),
          (db) => deliverAlert(alert, deps(db)),
        ]);
        assert.deepEqual(
          results.filter((result) => result.status === "rejected"),
          [],
        );
        assert.equal(postsOf(alert), 1, `Slack posts after ${steps.join(" ")}`);
        assert.equal(publishesOf(alert), 1, `SNS publishes after ${steps.join(" ")}`);
      }),
      { numRuns: 60 },
    );
  });
});
