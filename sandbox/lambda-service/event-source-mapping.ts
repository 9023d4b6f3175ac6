import type { SQSBatchResponse } from "aws-lambda";
import type { SandboxMessage, SandboxQueue } from "../model/sqs.ts";
import type { SandboxWorld } from "../model/world.ts";
import type { Invocation } from "./types.ts";

export interface DrainOptions {
  /** Simulated time: messages visible later are left for later (default: now). */
  readonly until?: number;
  /** Messages per batch (default 10). */
  readonly batchSize?: number;
  /** Batches invoked at once (default 1). */
  readonly concurrency?: number;
}

/**
 * An SQS event source mapping: receives batches from the queue, invokes the function with each,
 * and deletes what it processed (a partial batch response's `batchItemFailures` stay, and so does
 * the whole batch of an invocation that failed), until nothing is visible before `until`,
 * advancing the clock to each delayed or retried message.
 */
export const drainQueue = async (
  world: SandboxWorld,
  queue: SandboxQueue,
  invoke: (messages: readonly SandboxMessage[]) => Promise<Invocation>,
  options: DrainOptions,
): Promise<Invocation[]> => {
  const until = options.until ?? world.clock.now();
  const invocations: Invocation[] = [];
  for (let round = 0; round < 1000; round += 1) {
    // Like the event source mapping: up to `concurrency` invocations at once, a batch each.
    const batches: SandboxMessage[][] = [];
    for (let slot = 0; slot < (options.concurrency ?? 1); slot += 1) {
      const messages = world.sqs.receive(queue, options.batchSize ?? 10);
      if (messages.length === 0) break;
      batches.push(messages);
    }
    if (batches.length === 0) {
      const next = world.sqs.nextVisibleAt(queue);
      if (next === undefined || next > until) break;
      world.clock.advanceTo(next);
      continue;
    }
    const results = await Promise.all(batches.map((messages) => invoke(messages)));
    batches.forEach((messages, index) => {
      const invocation = results[index] as Invocation;
      invocations.push(invocation);
      const failed = new Set(
        invocation.error
          ? messages.map((message) => message.messageId)
          : ((invocation.result as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map(
              (failure) => failure.itemIdentifier,
            ),
      );
      for (const message of messages)
        if (!failed.has(message.messageId)) world.sqs.delete(queue, message);
    });
  }
  return invocations;
};
