import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { getParameter } from "@aws-lambda-powertools/parameters/ssm";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { SNSClient } from "@aws-sdk/client-sns";
import middy from "@middy/core";
import type { SNSEvent, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type DeliverDeps, type DeliveryOutcome, deliverAlert } from "../lib/alerts/deliver.ts";
import { type DiagnoseDeps, diagnoseBuildFailure } from "../lib/alerts/diagnose.ts";
import type { Alert } from "../lib/alerts/types.ts";
import { arnParts } from "../lib/aws/arns.ts";
import { clientConfig, currentRegion, regionalClients } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { readEnv } from "../lib/aws/env.ts";
import { InvalidEventError } from "../lib/errors.ts";
import {
  parseAlertMessage,
  parseAlertsTrigger,
  parseDeadLetterAlarm,
} from "../lib/events/alert-message.ts";
import { lazy } from "../lib/lazy.ts";
import {
  lambdaObservability,
  logFailures,
  type Observability,
  parseQueueRecord,
  rejectDeepEvents,
} from "../lib/observability/index.ts";

/**
 * alerts: renders and sends every alert to Slack and email. Fed by the alerts queue (other
 * functions publish there, see lib/alerts/publish.ts) and by the dead-letter alarms' SNS topic.
 */

export interface AlertsDeps extends DeliverDeps {
  /** Clients for diagnosing a failed build, in the image's region. */
  readonly diagnose: (region: string) => DiagnoseDeps;
}

export const makeHandler = (deps: () => AlertsDeps, observability: Observability) => {
  const { logger, metrics } = observability;
  const processor = new BatchProcessor(EventType.SQS);

  const send = async (alert: Alert): Promise<DeliveryOutcome> => {
    let enriched = alert;
    if (alert.kind === "build-failed" && !alert.diagnosis) {
      enriched = {
        ...alert,
        diagnosis: await diagnoseBuildFailure(
          alert.imageArn,
          deps().diagnose(arnParts(alert.imageArn).region),
          alert.pipelineArn ? { pipelineArn: alert.pipelineArn } : {},
        ),
      };
    }
    try {
      const outcome = await deliverAlert(enriched, deps());
      metrics.count(outcome.outcome === "delivered" ? "AlertDelivered" : "AlertDuplicate", {
        kind: alert.kind,
      });
      logger.info(`alert ${outcome.outcome}`, { ...outcome, kind: alert.kind });
      return outcome;
    } catch (error) {
      metrics.count("AlertDeliveryFailed", { kind: alert.kind });
      logger.error("alert not fully delivered", { error, kind: alert.kind });
      throw error;
    }
  };

  // A poison message is logged once, counted, and failed until the queue dead-letters it.
  const fromQueue = async (record: SQSRecord) => {
    await send(
      parseQueueRecord(
        record,
        () => parseAlertMessage(record.body),
        observability,
        "AlertMessageRejected",
      ),
    );
  };

  /** An SNS (async) invocation: a malformed one fails whole, for retries and then the failed-events queue. */
  const fromAlarms = async (messages: readonly string[]) => {
    let delivered = 0;
    for (const message of messages) {
      let alert: Alert | undefined;
      try {
        alert = parseDeadLetterAlarm(message);
      } catch (error) {
        if (error instanceof InvalidEventError) metrics.count("AlarmNotificationRejected");
        throw error;
      }
      if (alert) {
        await send(alert);
        delivered += 1;
      }
    }
    return { delivered };
  };

  return middy<SQSEvent | SNSEvent, SQSBatchResponse | { delivered: number }>()
    .use(injectLambdaContext(logger))
    .use(logFailures(logger))
    .use(rejectDeepEvents(metrics, "AlertsEventRejected"))
    .handler(async (event, context) => {
      // Checked before anything else: `null` or `{}` is a named InvalidEventError (logged by
      // logFailures with the event), never a TypeError.
      let trigger: ReturnType<typeof parseAlertsTrigger>;
      try {
        trigger = parseAlertsTrigger(event);
      } catch (error) {
        metrics.count("AlertsEventRejected");
        throw error;
      }
      if (trigger.source === "sns") return fromAlarms(trigger.messages);
      return processPartialResponse(event as SQSEvent, fromQueue, processor, {
        context,
        throwOnFullBatchFailure: false,
      });
    });
};

export const handler = makeHandler(
  lazy(() => {
    const env = readEnv(["TABLE_NAME", "ALERTS_TOPIC_ARN", "SLACK_WEBHOOK_PARAMETER"]);
    const region = currentRegion();
    const imageBuilder = regionalClients(
      (options) => new ImagebuilderClient(clientConfig(options)),
    );
    const logs = regionalClients((options) => new CloudWatchLogsClient(clientConfig(options)));
    const parameter = env.SLACK_WEBHOOK_PARAMETER;
    return {
      db: createDocumentClient(region),
      table: env.TABLE_NAME,
      sns: new SNSClient(clientConfig({ region })),
      topicArn: env.ALERTS_TOPIC_ARN,
      // SecureString, decrypted, cached for 5 minutes by Powertools; never logged.
      slackWebhookUrl: async () =>
        parameter === "/ami-orchestrator/none"
          ? undefined
          : await getParameter(parameter, { decrypt: true, maxAge: 300 }),
      clock: systemClock,
      diagnose: (imageRegion: string) => ({
        imageBuilder: imageBuilder(imageRegion),
        logs: logs(imageRegion),
      }),
    };
  }),
  lambdaObservability(),
);
