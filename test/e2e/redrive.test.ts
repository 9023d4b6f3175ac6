import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SQSEvent } from "aws-lambda";
import { getRollout, getTarget } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const DEV = "111111111111";
const BASE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023";

/**
 * docs/runbook.md, "RolloutDeadLetterAlarm": a redrive into the rollout queue is refused by its
 * queue policy, so a dead-lettered target is redelivered by invoking roll-out-target with the
 * dead letter in an SQS-shaped event, as `aws lambda invoke` sends it. This is that procedure.
 */
describe("the runbook's redrive of a dead-lettered rollout message", () => {
  const sandbox = sandboxSuite(undefined, { start: "2026-11-23T01:59:00Z" });

  it("a target dead-lettered by an outage finishes once roll-out-target is invoked with its dead letter", async () => {
    const { world, lambda, handlers, dynamo } = sandbox.session;
    // Every DescribeImages in dev fails with a 5xx: retryable, so the message is received five
    // times (maxReceiveCount) and dead-lettered.
    const outage = world.faults.add({
      service: "ec2",
      operation: "DescribeImages",
      accountId: DEV,
      error: {
        name: "InternalError",
        message: "An internal error has occurred",
        httpStatusCode: 500,
      },
    });
    world.clock.advanceTo("2026-11-23T02:00:00.000Z");
    await handlers.startPipelines(
      { pipeline: "base-al2023", scheduledTime: "2026-11-23T02:00:00.000Z" },
      fakeContext("start-pipelines"),
    );
    const image = world.imageBuilder.imagesOf(BASE).at(-1);
    assert.ok(image);
    await lambda.run(Date.parse("2026-11-23T05:00:00Z"));

    const [deadLetter] = world.queues.deadLetter.messages;
    assert.ok(deadLetter, "the dev target's message was dead-lettered");
    assert.equal(world.queues.deadLetter.messages.length, 1);
    const stuck = await getRollout(dynamo.db, dynamo.table, image.arn);
    assert.equal(stuck?.status, "in-progress", "the rollout waits for its dev target");
    world.faults.remove(outage);

    // What `aws sqs receive-message` prints, turned into the event the runbook's jq builds.
    const received = {
      Messages: [
        { MessageId: "dead-1", ReceiptHandle: "rh-1", MD5OfBody: "md5", Body: deadLetter.body },
      ],
    };
    const event = {
      Records: received.Messages.map((message) => ({
        messageId: message.MessageId,
        receiptHandle: message.ReceiptHandle,
        body: message.Body,
        attributes: { ApproximateReceiveCount: "1" },
        messageAttributes: {},
        md5OfBody: message.MD5OfBody,
        eventSource: "aws:sqs",
        eventSourceARN: "redrive",
        awsRegion: "eu-west-1",
      })),
    };
    // Only what the runbook's jq writes: no SentTimestamp or SenderId (the handler reads neither).
    const result = await handlers.rollOutTarget(
      event as unknown as SQSEvent,
      fakeContext("roll-out-target"),
    );
    assert.deepEqual(result, { batchItemFailures: [] });

    await lambda.run(Date.parse("2026-11-23T09:00:00Z"));
    const target = await getTarget(dynamo.db, dynamo.table, image.arn, {
      accountId: DEV,
      region: "eu-west-1",
    });
    assert.equal(target?.status, "refreshing");
    const done = await getRollout(dynamo.db, dynamo.table, image.arn);
    assert.equal(done?.status, "succeeded", "dev finished, baked, then prod");
  });
});
