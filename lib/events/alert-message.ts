import { z } from "zod";
import type { Alert } from "../alerts/types.ts";
import { InvalidEventError } from "../errors.ts";
import { parseEvent } from "./parse.ts";

const failure = z.object({
  wave: z.string(),
  account: z.string(),
  accountId: z.string(),
  region: z.string(),
  group: z.string().optional(),
  instanceRefreshId: z.string().optional(),
  reason: z.string(),
});

/** Alerts travel through the alerts queue as JSON; checked again on the way out. */
const alertSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("build-failed"),
    imageArn: z.string().includes(":image/"),
    pipeline: z.string().optional(),
    pipelineArn: z.string().optional(),
    reason: z.string().optional(),
  }),
  z.object({
    kind: z.literal("rollout-failed"),
    rolloutId: z.string().min(1),
    pipeline: z.string().min(1),
    failures: z.array(failure).min(1),
  }),
  z.object({
    kind: z.literal("rollout-rolled-back"),
    rolloutId: z.string().min(1),
    pipeline: z.string().min(1),
    requestedBy: z.string(),
    groups: z.number().int(),
    failedGroups: z.array(z.string()),
  }),
  z.object({
    kind: z.literal("rollout-superseded"),
    rolloutId: z.string().min(1),
    pipeline: z.string().min(1),
    supersededBy: z.string().min(1),
  }),
  z.object({
    kind: z.literal("pipeline-disabled"),
    pipelineArn: z.string().includes(":image-pipeline/"),
    pipeline: z.string().optional(),
    automatic: z.boolean(),
    consecutiveFailures: z.number().int().optional(),
    lastFailedImageArn: z.string().optional(),
  }),
  z.object({
    kind: z.literal("dead-letters"),
    queue: z.string().min(1),
    alarm: z.string().min(1),
    description: z.string().optional(),
  }),
]);

/** Strips the `undefined`s zod leaves for absent optional keys (exact optional properties). */
const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;

export const parseAlertMessage = (body: string): Alert => {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidEventError(
      `alert message is not JSON: ${JSON.stringify(body.slice(0, 120))}`,
      body,
    );
  }
  return compact(parseEvent(alertSchema, json, "alert message")) as Alert;
};

/** A CloudWatch alarm notification (via SNS) on a dead-letter queue's depth. */
const alarmSchema = z.object({
  AlarmName: z.string(),
  AlarmDescription: z.string().nullish(),
  AlarmArn: z.string().optional(),
  NewStateValue: z.string(),
  Region: z.string().optional(),
  Trigger: z.object({
    Dimensions: z.array(z.object({ name: z.string(), value: z.string() })).default([]),
  }),
});

export const parseDeadLetterAlarm = (message: string): Alert | undefined => {
  const alarm = parseEvent(alarmSchema, JSON.parse(message), "CloudWatch alarm notification");
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
