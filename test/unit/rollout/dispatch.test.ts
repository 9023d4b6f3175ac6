import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import type { TargetMessage } from "../../../lib/events/rollout-message.ts";
import { requeueTarget, sendTargetMessages } from "../../../lib/rollout/dispatch.ts";

const sqs = mockClient(SQSClient);
const QUEUE = "https://sqs.eu-west-1.amazonaws.com/999999999999/rollout";

const message = (index: number): TargetMessage => ({
  rolloutId: "base/1.0.0/1",
  accountId: String(100000000000 + index),
  region: "eu-west-1",
  attempt: 0,
});

describe("sending a wave's target messages", () => {
  beforeEach(() => sqs.reset());

  it("sends one message per target in batches of at most 10", async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await sendTargetMessages(
      new SQSClient({}),
      QUEUE,
      Array.from({ length: 23 }, (_, i) => message(i)),
    );

    const sizes = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((call) => call.args[0].input.Entries?.length);
    assert.deepEqual(sizes, [10, 10, 3]);
    const bodies = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => JSON.parse(entry.MessageBody ?? "{}").accountId);
    assert.equal(new Set(bodies).size, 23);
  });

  it("re-sends only the entries SQS rejected", async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: "1", Code: "InternalError", SenderFault: false }] })
      .resolvesOnce({ Successful: [] });
    await sendTargetMessages(new SQSClient({}), QUEUE, [message(0), message(1)]);

    const second = sqs.commandCalls(SendMessageBatchCommand)[1]?.args[0].input.Entries ?? [];
    assert.deepEqual(
      second.map((entry) => JSON.parse(entry.MessageBody ?? "{}").accountId),
      ["100000000001"],
    );
  });

  it("fails retryably when SQS rejects an entry twice, so the wave is not recorded as sent", async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Failed: [{ Id: "0", Code: "InternalError", Message: "try later", SenderFault: false }],
    });
    await assert.rejects(
      sendTargetMessages(new SQSClient({}), QUEUE, [message(0)]),
      (error: Error & { retryable?: boolean }) =>
        error.retryable === true && /InternalError: try later/.test(error.message),
    );
  });

  it("requeues a target as given, with a delay capped at SQS's 15 minutes", async () => {
    sqs.on(SendMessageCommand).resolves({});
    // Whether a wait is an attempt is the caller's call (a lease wait is not).
    const delay = await requeueTarget(
      new SQSClient({}),
      QUEUE,
      { ...message(0), attempt: 3 },
      1234.5,
    );

    assert.equal(delay, 900);
    const input = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input;
    assert.equal(input?.DelaySeconds, 900);
    assert.equal(JSON.parse(input?.MessageBody ?? "{}").attempt, 3);
  });
});
