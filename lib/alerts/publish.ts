import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Alert } from "./types.ts";

/**
 * Hands an alert to the alerts function through its queue: the caller never waits on Slack,
 * and the queue retries (then dead-letters) what cannot be delivered.
 */
export const publishAlert = async (
  sqs: SQSClient,
  queueUrl: string,
  alert: Alert,
): Promise<void> => {
  await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(alert) }),
  );
};

/** The publisher handlers use: the alerts queue from ALERTS_QUEUE_URL, or none when unset. */
export const alertPublisher = (
  sqs: SQSClient,
  queueUrl: string | undefined,
): ((alert: Alert) => Promise<void>) | undefined =>
  queueUrl ? (alert) => publishAlert(sqs, queueUrl, alert) : undefined;
