import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { clientConfig, currentRegion } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { readEnv } from "../lib/aws/env.ts";
import { assumedRoleClients } from "../lib/aws/target-clients.ts";
import { loadConfig } from "../lib/config/runtime.ts";
import { parseTargetMessage } from "../lib/events/rollout-message.ts";
import { lazy } from "../lib/lazy.ts";
import {
  lambdaObservability,
  logFailures,
  type Observability,
  parseQueueRecord,
  rejectDeepEvents,
} from "../lib/observability/index.ts";
import { requeueTarget } from "../lib/rollout/dispatch.ts";
import {
  type RollOutTargetDeps,
  rollOutTarget,
  TargetFailedError,
  type TargetOutcome,
} from "../lib/rollout/roll-out-target.ts";

/**
 * roll-out-target: one SQS message per target (account + region) of a rollout wave. Each record
 * is processed on its own; only records that failed in a retryable way are reported back to SQS
 * (partial batch response), to be redelivered and finally dead-lettered.
 */

const STATUS_METRICS: Partial<Record<TargetOutcome["status"], string>> = {
  refreshing: "TargetRefreshing",
  "up-to-date": "TargetUpToDate",
  "partially-failed": "TargetPartiallyFailed",
  failed: "TargetFailed",
  requeued: "TargetRequeued",
  "already-finished": "TargetDuplicateDelivery",
};

export const makeHandler = (deps: () => RollOutTargetDeps, observability: Observability) => {
  const { logger, metrics } = observability;
  const processor = new BatchProcessor(EventType.SQS);

  const processRecord = async (record: SQSRecord): Promise<void> => {
    const message = parseQueueRecord(
      record,
      () => parseTargetMessage(record.body),
      observability,
      "TargetMessageRejected",
    );
    const context = {
      rolloutId: message.rolloutId,
      accountId: message.accountId,
      region: message.region,
      messageId: record.messageId,
      receiveCount: record.attributes.ApproximateReceiveCount,
    };
    try {
      const outcome = await rollOutTarget(message, deps());
      const metric = STATUS_METRICS[outcome.status];
      if (metric)
        metrics.count(metric, outcome.pipeline ? { pipeline: outcome.pipeline } : undefined);
      const failedGroups =
        "groups" in outcome && outcome.groups.some((group) => group.status === "failed");
      if (failedGroups)
        logger.error("target rolled out with failures", {
          ...context,
          ...outcome,
          alert: "rollout-target-failed",
        });
      else logger.info(`target ${outcome.status}`, { ...context, ...outcome });
    } catch (error) {
      if (error instanceof TargetFailedError) {
        // Retrying cannot help (AccessDenied, a refused grant, a config problem): recorded on the
        // target, alerted, and the message is done.
        metrics.count("TargetFailed", error.pipeline ? { pipeline: error.pipeline } : undefined);
        logger.error("target failed", { ...context, error, alert: "rollout-target-failed" });
        return;
      }
      logger.warn("target will be retried", { ...context, error });
      throw error;
    }
  };

  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger))
    .use(logFailures(logger))
    .use(rejectDeepEvents(metrics, "TargetEventRejected"))
    .handler(async (event, context) =>
      processPartialResponse(event, processRecord, processor, {
        context,
        throwOnFullBatchFailure: false,
      }),
    );
};

export const handler = makeHandler(
  lazy(() => {
    const env = readEnv(["TABLE_NAME", "ROLLOUT_QUEUE_URL"]);
    const region = currentRegion();
    const sqs = new SQSClient(clientConfig({ region }));
    const config = loadConfig();
    return {
      config,
      db: createDocumentClient(region),
      table: env.TABLE_NAME,
      clients: assumedRoleClients(
        new STSClient(clientConfig({ region })),
        config,
        "roll-out-target",
      ),
      requeue: (message, delaySeconds) =>
        requeueTarget(sqs, env.ROLLOUT_QUEUE_URL, message, delaySeconds),
      clock: systemClock,
    };
  }),
  lambdaObservability(),
);
