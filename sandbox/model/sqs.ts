import { createHash } from "node:crypto";
import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

export interface SandboxMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  receiptHandle?: string;
}

export interface SandboxQueue {
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly messages: SandboxMessage[];
  readonly deadLetter?: { queue: SandboxQueue; maxReceiveCount: number };
}

/**
 * SQS standard queues: DelaySeconds, visibility timeouts, receive counts and the redrive policy
 * that moves a message to its DLQ after maxReceiveCount receives. The sandbox's event source
 * mapping (sandbox/lambda-service.ts) receives and deletes through `receive`/`delete`.
 */
export class SqsModel {
  readonly queues = new Map<string, SandboxQueue>();
  #sequence = 0;

  constructor(private readonly clock: SimClock) {}

  addQueue(options: {
    accountId: string;
    region: string;
    name: string;
    visibilityTimeoutSeconds?: number;
    deadLetter?: { queue: SandboxQueue; maxReceiveCount: number };
  }): SandboxQueue {
    const queue: SandboxQueue = {
      url: `https://sqs.${options.region}.amazonaws.com/${options.accountId}/${options.name}`,
      arn: `arn:aws:sqs:${options.region}:${options.accountId}:${options.name}`,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      messages: [],
      ...(options.deadLetter ? { deadLetter: options.deadLetter } : {}),
    };
    this.queues.set(queue.url, queue);
    return queue;
  }

  #send(queue: SandboxQueue, body: string, delaySeconds = 0): SandboxMessage {
    if (delaySeconds < 0 || delaySeconds > 900)
      throw awsError("InvalidParameterValue", "DelaySeconds must be 0-900");
    this.#sequence += 1;
    const message: SandboxMessage = {
      messageId: createHash("sha256")
        .update(`${queue.url}|${this.#sequence}`)
        .digest("hex")
        .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, "$1-$2-$3-$4-$5"),
      body,
      sentAt: this.clock.now(),
      visibleAt: this.clock.now() + delaySeconds * 1000,
      receiveCount: 0,
    };
    queue.messages.push(message);
    return message;
  }

  #queue(call: CallContext): SandboxQueue {
    const queue = this.queues.get(String(call.input.QueueUrl));
    if (!queue)
      throw awsError(
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
      );
    return queue;
  }

  /** Visible messages, up to `max`, made invisible for the visibility timeout (as ReceiveMessage). */
  receive(queue: SandboxQueue, max = 10): SandboxMessage[] {
    const now = this.clock.now();
    const received: SandboxMessage[] = [];
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (queue.deadLetter && message.receiveCount >= queue.deadLetter.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(message), 1);
        queue.deadLetter.queue.messages.push({ ...message, visibleAt: now, receiveCount: 0 });
        continue;
      }
      message.receiveCount += 1;
      message.visibleAt = now + queue.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = `${message.messageId}#${message.receiveCount}`;
      received.push(message);
    }
    return received;
  }

  delete(queue: SandboxQueue, message: SandboxMessage): void {
    const index = queue.messages.indexOf(message);
    if (index >= 0) queue.messages.splice(index, 1);
  }

  /** When the next message becomes visible, if any. */
  nextVisibleAt(queue: SandboxQueue): number | undefined {
    return queue.messages.reduce<number | undefined>(
      (earliest, message) =>
        earliest === undefined || message.visibleAt < earliest ? message.visibleAt : earliest,
      undefined,
    );
  }

  readonly operations = {
    SendMessage: (call: CallContext) => {
      const message = this.#send(
        this.#queue(call),
        String(call.input.MessageBody),
        Number(call.input.DelaySeconds ?? 0),
      );
      return { MessageId: message.messageId, MD5OfMessageBody: md5(message.body) };
    },
    SendMessageBatch: (call: CallContext) => {
      const queue = this.#queue(call);
      const entries =
        (call.input.Entries as Array<{ Id: string; MessageBody: string; DelaySeconds?: number }>) ??
        [];
      if (entries.length < 1 || entries.length > 10)
        throw awsError(
          "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
          "Maximum number of entries per request are 10.",
        );
      return {
        Successful: entries.map((entry) => ({
          Id: entry.Id,
          MessageId: this.#send(queue, entry.MessageBody, entry.DelaySeconds ?? 0).messageId,
          // The SDK checks it, as against real SQS.
          MD5OfMessageBody: md5(entry.MessageBody),
        })),
        Failed: [],
      };
    },
  };
}
