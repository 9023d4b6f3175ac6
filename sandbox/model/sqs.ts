import { createHash } from "node:crypto";
import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

/**
 * A queue's MaximumMessageSize when not set: 1 MiB since August 2025, 256 KiB (262,144 bytes)
 * before (API reference, CreateQueue Attributes). Our queues (serverless.yml) do not set it.
 */
export const DEFAULT_MAXIMUM_MESSAGE_SIZE = 1_048_576;
/** SendMessageBatch: "the maximum total payload size ... 1 MiB" (API reference). */
const MAXIMUM_BATCH_PAYLOAD = 1_048_576;
/** DelaySeconds "Valid values: 0 to 900" (API reference, SendMessage). */
const MAXIMUM_DELAY_SECONDS = 900;

interface Entry {
  readonly MessageBody: string;
  readonly DelaySeconds?: number;
  readonly MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }>;
}

/**
 * A message's size as SQS counts it against MaximumMessageSize: the body's UTF-8 bytes plus each
 * attribute's name, type and value (developer guide, "Amazon SQS message attributes").
 */
const messageSize = (entry: Entry): number =>
  Buffer.byteLength(entry.MessageBody) +
  Object.entries(entry.MessageAttributes ?? {}).reduce(
    (total, [name, attribute]) =>
      total +
      Buffer.byteLength(name) +
      Buffer.byteLength(attribute.DataType ?? "") +
      Buffer.byteLength(attribute.StringValue ?? ""),
    0,
  );

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
  /** MaximumMessageSize, in bytes. */
  readonly maximumMessageSize: number;
  readonly messages: SandboxMessage[];
  readonly deadLetter?: { queue: SandboxQueue; maxReceiveCount: number };
}

/**
 * SQS standard queues: DelaySeconds, visibility timeouts, receive counts and the redrive policy
 * that moves a message to its DLQ after maxReceiveCount receives. The sandbox's event source
 * mapping (sandbox/lambda-service/event-source-mapping.ts) receives and deletes through
 * `receive`/`delete`.
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
    maximumMessageSize?: number;
    deadLetter?: { queue: SandboxQueue; maxReceiveCount: number };
  }): SandboxQueue {
    const queue: SandboxQueue = {
      url: `https://sqs.${options.region}.amazonaws.com/${options.accountId}/${options.name}`,
      arn: `arn:aws:sqs:${options.region}:${options.accountId}:${options.name}`,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 30,
      maximumMessageSize: options.maximumMessageSize ?? DEFAULT_MAXIMUM_MESSAGE_SIZE,
      messages: [],
      ...(options.deadLetter ? { deadLetter: options.deadLetter } : {}),
    };
    this.queues.set(queue.url, queue);
    return queue;
  }

  #send(queue: SandboxQueue, entry: Entry): SandboxMessage {
    const body = entry.MessageBody;
    const delaySeconds = entry.DelaySeconds ?? 0;
    if (delaySeconds < 0 || delaySeconds > MAXIMUM_DELAY_SECONDS)
      throw awsError(
        "InvalidParameterValue",
        `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= ${MAXIMUM_DELAY_SECONDS}.`,
      );
    if (messageSize(entry) > queue.maximumMessageSize)
      throw awsError(
        "InvalidParameterValue",
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`,
      );
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
      const message = this.#send(this.#queue(call), call.input as unknown as Entry);
      return { MessageId: message.messageId, MD5OfMessageBody: md5(message.body) };
    },
    SendMessageBatch: (call: CallContext) => {
      const queue = this.#queue(call);
      const entries = (call.input.Entries as Array<Entry & { Id: string }>) ?? [];
      if (entries.length < 1 || entries.length > 10)
        throw awsError(
          "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
          "Maximum number of entries per request are 10.",
        );
      const payload = entries.reduce((total, entry) => total + messageSize(entry), 0);
      if (payload > MAXIMUM_BATCH_PAYLOAD)
        throw awsError(
          "AWS.SimpleQueueService.BatchRequestTooLong",
          `Batch requests cannot be longer than ${MAXIMUM_BATCH_PAYLOAD} bytes. You have sent ${payload} bytes.`,
        );
      return {
        Successful: entries.map((entry) => ({
          Id: entry.Id,
          MessageId: this.#send(queue, entry).messageId,
          // The SDK checks it, as against real SQS.
          MD5OfMessageBody: md5(entry.MessageBody),
        })),
        Failed: [],
      };
    },
  };
}
