import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import pMap from "p-map";
import { OrchestratorError } from "../errors.ts";
import type { TargetMessage } from "../events/rollout-message.ts";
import type { RolloutPlan, RolloutTarget } from "./plan.ts";

/** SendMessageBatch takes at most 10 entries. */
const BATCH = 10;
/** SQS DelaySeconds is at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

/** Ids only: roll-out-target reads everything else from our records (lib/events/rollout-message). */
export const targetMessage = (
  plan: Pick<RolloutPlan, "rolloutId">,
  target: Pick<RolloutTarget, "accountId" | "region">,
): TargetMessage => ({
  rolloutId: plan.rolloutId,
  accountId: target.accountId,
  region: target.region,
  attempt: 0,
});

/**
 * One message per target, in batches of 10. Entries SQS rejects are re-sent once, then reported
 * as a retryable failure: the caller records the wave as dispatched only after this returns, so
 * a retried invocation sends the whole wave again, which roll-out-target tolerates (its steps
 * are recorded), rather than leaving a target behind.
 */
export const sendTargetMessages = async (
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly TargetMessage[],
): Promise<void> => {
  const batches = Array.from({ length: Math.ceil(messages.length / BATCH) }, (_, index) =>
    messages.slice(index * BATCH, (index + 1) * BATCH),
  );
  // A few batches in flight at once: a 10,000-target wave is 1,000 calls.
  await pMap(batches, (batch) => sendBatch(sqs, queueUrl, batch), {
    concurrency: SEND_CONCURRENCY,
  });
};

const SEND_CONCURRENCY = 8;

const sendBatch = async (
  sqs: SQSClient,
  queueUrl: string,
  batch: readonly TargetMessage[],
): Promise<void> => {
  let pending = batch.map((message, index) => ({
    Id: String(index),
    MessageBody: JSON.stringify(message),
  }));
  for (let round = 0; round < 2 && pending.length > 0; round += 1) {
    const { Failed: failed = [] } = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
    );
    const failedIds = new Set(failed.map((entry) => entry.Id));
    const rejected = pending.filter((entry) => failedIds.has(entry.Id));
    if (round === 1 && rejected.length > 0) {
      throw new OrchestratorError(
        `SQS rejected ${rejected.length} rollout message(s): ${failed.map((entry) => `${entry.Code}: ${entry.Message}`).join("; ")}`,
        { retryable: true },
      );
    }
    pending = rejected;
  }
};

/**
 * Puts a target back on the queue to be resumed after `delaySeconds` (at most 15 minutes), as
 * given: the caller says whether the wait counts as an attempt (`attempt` bounds only the waits
 * for another refresh; waiting for a lease or a grant is not one).
 */
export const requeueTarget = async (
  sqs: SQSClient,
  queueUrl: string,
  message: TargetMessage,
  delaySeconds: number,
): Promise<number> => {
  const delay = Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds)));
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(message),
      DelaySeconds: delay,
    }),
  );
  return delay;
};
