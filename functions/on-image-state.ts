import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import { alertPublisher } from "../lib/alerts/publish.ts";
import { clientConfig, currentRegion, regionalClients } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { readEnv } from "../lib/aws/env.ts";
import { findPipelineByArn } from "../lib/config/find.ts";
import { loadConfig } from "../lib/config/runtime.ts";
import { errorMessage, InvalidEventError, isRetryable, OrchestratorError } from "../lib/errors.ts";
import { type ImageStateChange, parseImageStateEvent } from "../lib/events/image-state.ts";
import { parsePipelineAutoDisabled } from "../lib/events/pipeline-disabled.ts";
import { lazy } from "../lib/lazy.ts";

const isPipelineAutoDisabled = (event: unknown): boolean =>
  event !== null &&
  typeof event === "object" &&
  (event as Record<string, unknown>)["detail-type"] ===
    "EC2 Image Builder Image Pipeline Automatically Disabled";

import {
  lambdaObservability,
  logFailures,
  type Observability,
  rejectDeepEvents,
} from "../lib/observability/index.ts";
import {
  handleImageStateChange,
  type ImageStateOutcome,
  type IntakeDeps,
  RejectedNotificationError,
} from "../lib/rollout/intake.ts";

/**
 * on-image-state: triggered by the Image Builder SNS topic (every record of the batch) and by the
 * EventBridge "EC2 Image Builder Image State Change" rule. An AVAILABLE image starts its rollout;
 * a FAILED build is reported for alerting.
 */

export interface ImageStateResponse {
  readonly outcomes: readonly ImageStateOutcome[];
}

/** Some state changes could not be handled; the others were. Lambda retries the event. */
export class ImageStateError extends OrchestratorError {}

const OUTCOME_METRICS: Record<ImageStateOutcome["outcome"], string> = {
  "rollout-started": "RolloutStarted",
  "rollout-held": "RolloutHeld",
  "stale-image": "StaleImageNotification",
  duplicate: "DuplicateImageNotification",
  "no-targets": "RolloutWithoutTargets",
  "unknown-pipeline": "ImageFromUnknownPipeline",
  "no-rollout-configured": "ImageWithoutRollout",
  "build-failed": "ImageBuildFailed",
  "ignored-state": "ImageStateIgnored",
};

const report = (
  change: ImageStateChange,
  outcome: ImageStateOutcome,
  { logger, metrics }: Observability,
): void => {
  metrics.count(
    OUTCOME_METRICS[outcome.outcome],
    "pipeline" in outcome && outcome.pipeline ? { pipeline: outcome.pipeline } : {},
  );
  const fields = {
    ...outcome,
    imageArn: change.imageArn,
    source: change.source,
    deliveryId: change.deliveryId,
  };
  switch (outcome.outcome) {
    case "rollout-started":
    case "no-targets": {
      const mismatched = outcome.targetsWithoutAmi.length + outcome.amisWithoutTarget.length > 0;
      // A distribution configuration that drifted from the rollout waves: worth a warning each time.
      if (mismatched || outcome.outcome === "no-targets")
        logger.warn("image outputs and rollout targets do not match", fields);
      else logger.info(outcome.outcome, fields);
      return;
    }
    case "rollout-held":
    case "stale-image":
    case "duplicate":
    case "no-rollout-configured":
      logger.info(outcome.outcome, fields);
      return;
    case "unknown-pipeline":
      logger.info("image from a pipeline not in the config: ignored", fields);
      return;
    case "build-failed":
      logger.error("image build failed", { ...fields, alert: "build-failed" });
      return;
    case "ignored-state":
      logger.debug("image state not acted on", fields);
      return;
  }
};

export const makeHandler = (deps: () => IntakeDeps, observability: Observability) =>
  middy<unknown, ImageStateResponse>()
    .use(injectLambdaContext(observability.logger))
    .use(logFailures(observability.logger))
    .use(rejectDeepEvents(observability.metrics, "ImageEventRejected"))
    .handler(async (event) => {
      if (isPipelineAutoDisabled(event)) {
        // Image Builder gave up on a pipeline after repeated failures: its AMIs stop refreshing.
        const disabled = parsePipelineAutoDisabled(event);
        const pipeline = findPipelineByArn(deps().config, disabled.pipelineArn)?.name;
        observability.logger.error("pipeline automatically disabled", {
          ...disabled,
          pipeline,
          alert: "pipeline-disabled",
        });
        await deps().publishAlert?.({
          kind: "pipeline-disabled",
          pipelineArn: disabled.pipelineArn,
          automatic: true,
          ...(pipeline ? { pipeline } : {}),
          ...(disabled.consecutiveFailures === undefined
            ? {}
            : { consecutiveFailures: disabled.consecutiveFailures }),
          ...(disabled.lastFailedImageArn
            ? { lastFailedImageArn: disabled.lastFailedImageArn }
            : {}),
        });
        return { outcomes: [] };
      }
      let changes: ImageStateChange[];
      try {
        changes = parseImageStateEvent(event);
      } catch (error) {
        // Logged by logFailures (with the event cut to 16 KiB); counted like the other rejections.
        if (error instanceof InvalidEventError) observability.metrics.count("ImageEventRejected");
        throw error;
      }
      const outcomes: ImageStateOutcome[] = [];
      const failures: Array<{ change: ImageStateChange; error: unknown }> = [];
      // Every record is handled even if one fails; each is idempotent, so the retry of the
      // whole event redoes only what failed.
      for (const change of changes) {
        try {
          const outcome = await handleImageStateChange(change, deps());
          report(change, outcome, observability);
          outcomes.push(outcome);
        } catch (error) {
          if (error instanceof RejectedNotificationError) {
            // A forged or misrouted notification: nothing was rolled out. The invocation fails
            // below, so the event lands in the failed-events queue and its alarm alerts.
            observability.metrics.count("ImageNotificationRejected", { reason: error.reason });
            observability.logger.error("image notification rejected", {
              ...error.context,
              reason: error.reason,
              error,
              alert: "notification-rejected",
            });
            failures.push({ change, error });
            continue;
          }
          observability.logger.error("image state change not handled", {
            error,
            imageArn: change.imageArn,
            status: change.status,
          });
          failures.push({ change, error });
        }
      }
      if (failures.length > 0) {
        throw new ImageStateError(
          `${failures.length} of ${changes.length} image state change(s) failed: ${failures.map(({ change, error }) => `${change.imageArn}: ${errorMessage(error)}`).join("; ")}`,
          {
            retryable: failures.some(({ error }) => isRetryable(error)),
            cause: failures[0]?.error,
          },
        );
      }
      return { outcomes };
    });

export const handler = makeHandler(
  lazy(() => {
    const env = readEnv(["TABLE_NAME", "ROLLOUT_QUEUE_URL"]);
    const region = currentRegion();
    const sqs = new SQSClient(clientConfig({ region }));
    return {
      publishAlert: alertPublisher(sqs, process.env.ALERTS_QUEUE_URL),
      config: loadConfig(),
      db: createDocumentClient(region),
      table: env.TABLE_NAME,
      sqs,
      queueUrl: env.ROLLOUT_QUEUE_URL,
      imageBuilder: regionalClients((options) => new ImagebuilderClient(clientConfig(options))),
      clock: systemClock,
    };
  }),
  lambdaObservability(),
);
