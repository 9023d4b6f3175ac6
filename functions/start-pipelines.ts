import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import { alertPublisher } from "../lib/alerts/publish.ts";
import type { Alert } from "../lib/alerts/types.ts";
import { clientConfig, currentRegion, regionalClients } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { loadConfig } from "../lib/config/runtime.ts";
import { OrchestratorError } from "../lib/errors.ts";
import { parseSchedulerTick } from "../lib/events/scheduler-tick.ts";
import {
  type PipelineStartOutcome,
  type PipelineStartResult,
  type StartPipelineDeps,
  startPipelines,
} from "../lib/image-builder/start-pipeline.ts";
import { lazy } from "../lib/lazy.ts";
import {
  lambdaObservability,
  logFailures,
  type Observability,
  rejectDeepEvents,
} from "../lib/observability/index.ts";

/**
 * start-pipelines: invoked by EventBridge Scheduler (one schedule per configured pipeline) with
 * `{"pipeline": "<name>", "scheduledTime": "<aws.scheduler.scheduled-time>"}`; starts the Image
 * Builder pipeline unless frozen (on our clock), disabled or already building. `scheduledTime`
 * only names the build (its client token): it decides nothing.
 */

export class PipelineStartError extends OrchestratorError {
  readonly results: readonly PipelineStartResult[];

  constructor(results: readonly PipelineStartResult[]) {
    const failed = results.filter((result) => result.outcome === "failed");
    super(
      `${failed.length} of ${results.length} pipeline(s) could not be started: ${failed.map((result) => `${result.pipeline}: ${result.reason}`).join("; ")}`,
      { retryable: true },
    );
    this.results = results;
  }
}

export const OUTCOME_METRICS: Record<PipelineStartOutcome, string> = {
  started: "PipelineStarted",
  "skipped-building": "PipelineSkippedBuilding",
  "skipped-disabled": "PipelineSkippedDisabled",
  "skipped-freeze": "PipelineSkippedFreeze",
  failed: "PipelineStartFailed",
};

export interface StartPipelinesResponse {
  readonly results: readonly PipelineStartResult[];
}

const report = (result: PipelineStartResult, { logger, metrics }: Observability): void => {
  metrics.count(OUTCOME_METRICS[result.outcome], { pipeline: result.pipeline });
  const fields = { ...result };
  switch (result.outcome) {
    case "started":
    case "skipped-building":
    case "skipped-freeze":
      logger.info(`pipeline ${result.outcome}`, fields);
      return;
    case "skipped-disabled":
      // Structured so the alerts module can route it: a schedule firing on a disabled pipeline
      // means someone's AMIs silently stopped refreshing.
      logger.warn("pipeline disabled", { ...fields, alert: "pipeline-disabled" });
      return;
    case "failed":
      logger.error("pipeline start failed", fields);
      return;
  }
};

/**
 * Builds the Lambda handler around injected dependencies; `deps` is called on the first
 * invocation (config and clients load once per container, and tests pass fakes).
 */
export interface StartPipelinesDeps extends StartPipelineDeps {
  readonly publishAlert?: ((alert: Alert) => Promise<void>) | undefined;
}

export const makeHandler = (deps: () => StartPipelinesDeps, observability: Observability) =>
  middy<unknown, StartPipelinesResponse>()
    .use(injectLambdaContext(observability.logger))
    .use(logFailures(observability.logger))
    .use(rejectDeepEvents(observability.metrics, "SchedulerTickRejected"))
    .handler(async (event) => {
      const tick = parseSchedulerTick(event);
      observability.logger.appendKeys({ scheduledTime: tick.scheduledTime ?? "manual" });
      const results = await startPipelines(tick.pipelines, tick.scheduledTime, deps());
      for (const result of results) {
        report(result, observability);
        if (result.outcome === "skipped-disabled" && result.pipelineArn) {
          await deps().publishAlert?.({
            kind: "pipeline-disabled",
            pipeline: result.pipeline,
            pipelineArn: result.pipelineArn,
            automatic: false,
          });
        }
      }
      // Lambda retries the whole tick (safe: client tokens are deterministic), then hands it to
      // the on-failure destination, so a failed start is never silently lost.
      if (results.some((result) => result.outcome === "failed"))
        throw new PipelineStartError(results);
      return { results };
    });

export const handler = makeHandler(
  lazy(() => ({
    config: loadConfig(),
    imageBuilder: regionalClients((options) => new ImagebuilderClient(clientConfig(options))),
    clock: systemClock,
    publishAlert: alertPublisher(
      new SQSClient(clientConfig({ region: currentRegion() })),
      process.env.ALERTS_QUEUE_URL,
    ),
  })),
  lambdaObservability(),
);
