import * as z from "zod/mini";
import type { Alert } from "../alerts/types.ts";
import { InvalidEventError } from "../errors.ts";
import { checkJsonText } from "./bounds.ts";
import { parseEvent } from "./parse.ts";
import { nonEmptyArray, text } from "./schema-kit.ts";

const failure = z.object({
  wave: z.string(),
  account: z.string(),
  accountId: z.string(),
  region: z.string(),
  group: z.optional(z.string()),
  instanceRefreshId: z.optional(z.string()),
  reason: z.string(),
});

/** Alerts travel through the alerts queue as JSON; checked again on the way out. */
const alertSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("build-failed"),
    imageArn: z.string().check(z.includes(":image/")),
    pipeline: z.optional(z.string()),
    pipelineArn: z.optional(z.string()),
    reason: z.optional(z.string()),
  }),
  z.object({
    kind: z.literal("rollout-failed"),
    rolloutId: text(),
    pipeline: text(),
    failures: nonEmptyArray(failure),
  }),
  z.object({
    kind: z.literal("rollout-rolled-back"),
    rolloutId: text(),
    pipeline: text(),
    requestedBy: z.string(),
    groups: z.int(),
    failedGroups: z.array(z.string()),
  }),
  z.object({
    kind: z.literal("rollout-superseded"),
    rolloutId: text(),
    pipeline: text(),
    supersededBy: text(),
  }),
  z.object({
    kind: z.literal("pipeline-disabled"),
    pipelineArn: z.string().check(z.includes(":image-pipeline/")),
    pipeline: z.optional(z.string()),
    automatic: z.boolean(),
    consecutiveFailures: z.optional(z.int()),
    lastFailedImageArn: z.optional(z.string()),
  }),
  z.object({
    kind: z.literal("launch-failed"),
    accountId: text(),
    region: text(),
    group: text(),
    activityId: text(),
    since: text(),
    cause: text(),
    explanation: z.string(),
    fix: z.optional(z.string()),
    consoleUrl: z.optional(z.string()),
    chain: z.array(z.string()),
    statusMessage: z.string(),
    action: z.string(),
    pipeline: z.optional(z.string()),
  }),
  z.object({
    kind: z.literal("dead-letters"),
    queue: text(),
    alarm: text(),
    description: z.optional(z.string()),
  }),
]);

/** Strips the `undefined`s zod leaves for absent optional keys (exact optional properties). */
const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

export const parseAlertMessage = (body: string): Alert => {
  checkJsonText(body, "alert message", "body");
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw notJson("alert message", "body", body, error);
  }
  return compact(parseEvent(alertSchema, json, "alert message")) as Alert;
};

/** A text that should hold JSON and does not: named, with the field and the start of the text. */
const notJson = (kind: string, field: string, text: string, error: unknown) => {
  const reason = `not JSON (${error instanceof Error ? error.message : String(error)})`;
  const got = JSON.stringify(text.slice(0, 120));
  return new InvalidEventError(`not a valid ${kind}: ${field}: ${reason} (got ${got})`, text, {
    cause: error,
    problems: [{ field, reason, got }],
  });
};

const sqsEventSchema = z.object({
  Records: nonEmptyArray(
    z.object({
      eventSource: z.literal("aws:sqs"),
      messageId: text(),
      body: z.string(),
      attributes: z.object({ ApproximateReceiveCount: z.optional(z.string()) }),
    }),
  ),
});

const snsEventSchema = z.object({
  Records: nonEmptyArray(
    z.object({
      EventSource: z.literal("aws:sns"),
      Sns: z.object({ MessageId: z.optional(z.string()), Message: z.string() }),
    }),
  ),
});

/** What invoked the alerts function: its queue (SQS batch) or the alarm topic (SNS). */
export type AlertsTrigger =
  | { readonly source: "sqs" }
  | { readonly source: "sns"; readonly messages: readonly string[] };

/**
 * Tells the alerts function's two triggers apart and checks their shape: anything else (`null`,
 * `{}`, a record of a third kind) is an InvalidEventError naming the field, never a TypeError.
 */
export const parseAlertsTrigger = (event: unknown): AlertsTrigger => {
  const first = (event as { Records?: Array<{ EventSource?: unknown }> } | null)?.Records?.[0];
  if (first && typeof first === "object" && first.EventSource === "aws:sns") {
    const sns = parseEvent(snsEventSchema, event, "alarm notification (SNS event)");
    return { source: "sns", messages: sns.Records.map((record) => record.Sns.Message) };
  }
  parseEvent(sqsEventSchema, event, "alerts trigger (SQS event from the alerts queue)");
  return { source: "sqs" };
};

/** A CloudWatch alarm notification (via SNS) on a dead-letter queue's depth. */
const alarmSchema = z.object({
  AlarmName: z.string(),
  AlarmDescription: z.nullish(z.string()),
  AlarmArn: z.optional(z.string()),
  NewStateValue: z.string(),
  Region: z.optional(z.string()),
  Trigger: z.object({
    Dimensions: z._default(z.array(z.object({ name: z.string(), value: z.string() })), []),
  }),
});

export const parseDeadLetterAlarm = (message: string): Alert | undefined => {
  checkJsonText(message, "CloudWatch alarm notification", "Sns.Message");
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch (error) {
    throw notJson("CloudWatch alarm notification", "Sns.Message", message, error);
  }
  const alarm = parseEvent(alarmSchema, json, "CloudWatch alarm notification");
  if (alarm.NewStateValue !== "ALARM") return undefined;
  const queueName = alarm.Trigger.Dimensions.find(
    (dimension) => dimension.name === "QueueName",
  )?.value;
  const [, , , region = "", account = ""] = (alarm.AlarmArn ?? "").split(":");
  return {
    kind: "dead-letters",
    queue: queueName
      ? `https://sqs.${region}.amazonaws.com/${account}/${queueName}`
      : alarm.AlarmName,
    alarm: alarm.AlarmName,
    ...(alarm.AlarmDescription ? { description: alarm.AlarmDescription } : {}),
  };
};
