import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../aws/clock.ts";
import { isConditionFailure } from "../aws/dynamodb.ts";
import { errorMessage, OrchestratorError } from "../errors.ts";
import { describeAlert } from "./describe.ts";
import { redactSecrets } from "./redact.ts";
import { renderEmail, renderSlack } from "./render.ts";
import { postToSlack, type SlackPostOptions } from "./slack.ts";
import { type Alert, alertKey } from "./types.ts";

export interface DeliverDeps {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly sns: SNSClient;
  readonly topicArn: string;
  /** The Slack webhook URL (from SSM, cached), or undefined when Slack is not configured. */
  readonly slackWebhookUrl: () => Promise<string | undefined>;
  readonly clock: Clock;
  readonly slack?: SlackPostOptions;
  /** How long one delivery may hold an alert before another may take over. */
  readonly leaseMs?: number;
}

export type ChannelOutcome = "sent" | "already-sent" | "not-configured" | "failed";

export interface DeliveryOutcome {
  readonly key: string;
  readonly outcome: "delivered" | "duplicate" | "in-flight" | "partially-delivered";
  readonly slack: ChannelOutcome;
  readonly email: ChannelOutcome;
  readonly errors: readonly string[];
}

/** One channel failing on every attempt: the alert is retried, and channels already sent are not. */
export class AlertDeliveryError extends OrchestratorError {}

const RETENTION_DAYS = 30;

const bothSent = (record: Record<string, unknown> | undefined): boolean => {
  const channels = (record?.channels ?? {}) as Record<string, string>;
  return Boolean(channels.slack && channels.email);
};

const duplicate = (key: string): DeliveryOutcome => ({
  key,
  outcome: "duplicate",
  slack: "already-sent",
  email: "already-sent",
  errors: [],
});

/**
 * Sends an alert to Slack and to the email topic, once per (subject, kind). Each channel's
 * success is recorded on the alert's record, so a retry (or a duplicate notification) re-sends
 * only what has not gone out; a lease keeps two concurrent deliveries from both posting, and the
 * channels to send are read from the item the lease write returns. A
 * Slack outage never holds back the email: both are tried, then the delivery fails (to be
 * retried) if either did.
 */
export const deliverAlert = async (alert: Alert, deps: DeliverDeps): Promise<DeliveryOutcome> => {
  const key = alertKey(alert);
  const now = deps.clock.now();
  const itemKey = { pk: `ALERT#${key}`, sk: "META" };
  // A fast path for a duplicate only: what to send is decided from the lease's answer below,
  // never from this read (a concurrent delivery may send and record between the two).
  const { Item: record } = await deps.db.send(
    new GetCommand({ TableName: deps.table, Key: itemKey, ConsistentRead: true }),
  );
  if (bothSent(record)) return duplicate(key);
  // A lease, so two concurrent deliveries of one alert do not both post. UpdateItem with
  // ReturnValues ALL_NEW returns the item as this write left it, strongly consistent (DynamoDB
  // API model, UpdateItemInput.ReturnValues): the channels another delivery recorded before we
  // took the lease are in it.
  let leased: Record<string, unknown> | undefined;
  try {
    ({ Attributes: leased } = await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: itemKey,
        UpdateExpression:
          "SET leaseUntil = :until, kind = :kind, #type = :type, expiration = :expiration, channels = if_not_exists(channels, :empty), firstSeenAt = if_not_exists(firstSeenAt, :now)",
        ConditionExpression: "attribute_not_exists(leaseUntil) OR leaseUntil < :nowMs",
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: {
          ":until": now + (deps.leaseMs ?? 60_000),
          ":nowMs": now,
          ":now": new Date(now).toISOString(),
          ":kind": alert.kind,
          ":type": "alert",
          ":empty": {},
          ":expiration": Math.floor(now / 1000) + RETENTION_DAYS * 86_400,
        },
        ReturnValues: "ALL_NEW",
      }),
    ));
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { key, outcome: "in-flight", slack: "already-sent", email: "already-sent", errors: [] };
  }
  const releaseLease = () =>
    deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: itemKey,
        UpdateExpression: "REMOVE leaseUntil",
      }),
    );
  if (bothSent(leased)) {
    await releaseLease();
    return duplicate(key);
  }
  const sent = (leased?.channels ?? {}) as Record<string, string>;

  const story = describeAlert(alert);
  const errors: string[] = [];
  // Recorded right after each send, so the window in which a crash (or a lease that ran out)
  // resends a channel is one DynamoDB write: delivery is at least once. SNS deduplicates only
  // FIFO topics and a Slack webhook takes no idempotency key, so that window is the residual.
  const markSent = async (channel: "slack" | "email") => {
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: itemKey,
        UpdateExpression: "SET channels.#channel = :at",
        ExpressionAttributeNames: { "#channel": channel },
        ExpressionAttributeValues: { ":at": new Date(deps.clock.now()).toISOString() },
      }),
    );
  };

  let slack: ChannelOutcome = sent.slack ? "already-sent" : "failed";
  if (!sent.slack) {
    const url = await deps.slackWebhookUrl().catch((error: unknown) => {
      errors.push(`slack webhook parameter: ${errorMessage(error)}`);
      return null;
    });
    if (url === undefined) slack = "not-configured";
    else if (url) {
      const result = await postToSlack(url, renderSlack(story), deps.slack);
      if (result.ok) slack = "sent";
      else errors.push(`slack: ${result.error} after ${result.attempts} attempt(s)`);
    }
    if (slack === "sent" || slack === "not-configured") await markSent("slack");
  }

  let email: ChannelOutcome = sent.email ? "already-sent" : "failed";
  if (!sent.email) {
    const { subject, body } = renderEmail(story);
    try {
      await deps.sns.send(
        new PublishCommand({ TopicArn: deps.topicArn, Subject: subject, Message: body }),
      );
      email = "sent";
      await markSent("email");
    } catch (error) {
      errors.push(`email: ${errorMessage(error)}`);
    }
  }

  await releaseLease();
  // Errors quote Slack's and SNS's answers: logged and retried, so redacted like the alert.
  const outcome = { key, slack, email, errors: errors.map(redactSecrets) };
  if (slack === "failed" || email === "failed") {
    throw new AlertDeliveryError(`alert ${key} not fully delivered: ${outcome.errors.join("; ")}`, {
      retryable: true,
    });
  }
  return { ...outcome, outcome: "delivered" };
};
