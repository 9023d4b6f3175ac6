import { createHash } from "node:crypto";
import {
  GetImagePipelineCommand,
  type ImagebuilderClient,
  paginateListImagePipelineImages,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import type { Clock } from "../aws/clock.ts";
import { parsePipelineArn } from "../config/arns.ts";
import { activeFreezeWindow, type FreezeWindow } from "../config/freeze-windows.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";

export type PipelineStartOutcome =
  | "started"
  | "skipped-building"
  | "skipped-disabled"
  | "skipped-freeze"
  | "failed";

/** What happened to one pipeline on one tick. Logged, counted, and (for disabled) alerted on. */
export interface PipelineStartResult {
  readonly pipeline: string;
  readonly pipelineArn?: string;
  readonly outcome: PipelineStartOutcome;
  /**
   * The tick's time, the input of the client token only: the schedule's time, or the current
   * minute for a manual run.
   */
  readonly scheduledTime: string;
  /** When the decision was made, on our clock: what the freeze was checked against. */
  readonly decidedAt: string;
  readonly reason?: string;
  readonly clientToken?: string;
  readonly imageBuildVersionArn?: string;
  /** For skipped-building: the image still in progress. */
  readonly activeImage?: { readonly arn: string; readonly status: string };
  /** For skipped-freeze: the window in force. */
  readonly freezeWindow?: FreezeWindow;
}

/** Image statuses that mean a build of the pipeline is still under way. */
export const IN_PROGRESS_IMAGE_STATUSES: ReadonlySet<string> = new Set([
  "PENDING",
  "CREATING",
  "BUILDING",
  "TESTING",
  "DISTRIBUTING",
  "INTEGRATING",
]);

/**
 * The idempotency token for one scheduled start: the same pipeline and scheduled time always give
 * the same token, so Image Builder returns the original build instead of starting a second one
 * when a tick is retried. SHA-256 hex is exactly the 64-character maximum.
 */
export const pipelineClientToken = (pipelineArn: string, scheduledTime: string): string =>
  createHash("sha256")
    .update(`${pipelineArn}|${new Date(scheduledTime).toISOString()}`)
    .digest("hex");

export interface StartPipelineDeps {
  readonly config: OrchestratorConfig;
  /** Image Builder client for a region: pipelines may live in several. */
  readonly imageBuilder: (region: string) => ImagebuilderClient;
  readonly clock: Clock;
}

const truncateToMinute = (instant: number): string =>
  new Date(instant - (instant % 60_000)).toISOString();

const activeImageOf = async (client: ImagebuilderClient, pipelineArn: string) => {
  for await (const page of paginateListImagePipelineImages(
    { client },
    { imagePipelineArn: pipelineArn },
  )) {
    const active = page.imageSummaryList?.find((image) =>
      IN_PROGRESS_IMAGE_STATUSES.has(image.state?.status ?? ""),
    );
    if (active?.arn) return { arn: active.arn, status: active.state?.status ?? "UNKNOWN" };
  }
  return undefined;
};

/**
 * Decides and, when due, starts one pipeline: freeze window → pipeline disabled → build already
 * in progress → StartImagePipelineExecution with a deterministic client token. Never throws:
 * a failure is a result, so one broken pipeline cannot hide what happened to the others.
 */
export const startPipeline = async (
  pipeline: PipelineConfig,
  scheduledTime: string | undefined,
  deps: StartPipelineDeps,
): Promise<PipelineStartResult> => {
  const now = deps.clock.now();
  // The tick's time only names the build (its client token): a manual run has none, and the
  // current minute stands in, so two manual runs in the same minute still start one build.
  const tickTime = scheduledTime ?? truncateToMinute(now);
  const base = {
    pipeline: pipeline.name,
    pipelineArn: pipeline.arn,
    scheduledTime: tickTime,
    decidedAt: new Date(now).toISOString(),
  };

  // Our clock decides the freeze, never the tick's time: whoever may invoke the function writes
  // any scheduledTime, and a legitimate tick can arrive a day late (Scheduler retries for up to
  // MaximumEventAgeInSeconds, 86400 at most). A tick far from now is not refused: it is a late
  // retry or a forgery, and either way it starts at most the one build its token names, and
  // none while a freeze is in force.
  const freeze = activeFreezeWindow(
    [...deps.config.freeze, ...pipeline.freeze],
    now,
    pipeline.schedule?.timezone ?? "UTC",
  );
  if (freeze) {
    const { start: _start, end: _end, ...window } = freeze;
    return {
      ...base,
      outcome: "skipped-freeze",
      reason: `inside freeze window ${freeze.from} → ${freeze.to}${freeze.reason ? ` (${freeze.reason})` : ""}`,
      freezeWindow: window,
    };
  }

  const region = parsePipelineArn(pipeline.arn)?.region;
  if (!region)
    return { ...base, outcome: "failed", reason: `cannot read the region from ${pipeline.arn}` };
  const client = deps.imageBuilder(region);

  try {
    const { imagePipeline } = await client.send(
      new GetImagePipelineCommand({ imagePipelineArn: pipeline.arn }),
    );
    if (imagePipeline?.status === "DISABLED") {
      return {
        ...base,
        outcome: "skipped-disabled",
        reason:
          "the pipeline is DISABLED in Image Builder (enable it, or remove its schedule from the config)",
      };
    }

    const activeImage = await activeImageOf(client, pipeline.arn);
    if (activeImage) {
      return {
        ...base,
        outcome: "skipped-building",
        reason: `image ${activeImage.arn} is still ${activeImage.status}`,
        activeImage,
      };
    }

    const clientToken = pipelineClientToken(pipeline.arn, tickTime);
    const started = await client.send(
      new StartImagePipelineExecutionCommand({ imagePipelineArn: pipeline.arn, clientToken }),
    );
    return {
      ...base,
      outcome: "started",
      clientToken,
      ...(started.imageBuildVersionArn
        ? { imageBuildVersionArn: started.imageBuildVersionArn }
        : {}),
    };
  } catch (error) {
    // Image Builder refuses to start a pipeline that is busy: same meaning as a build in progress.
    if (error instanceof Error && error.name === "ResourceInUseException") {
      return { ...base, outcome: "skipped-building", reason: error.message };
    }
    const hint =
      error instanceof Error && error.name === "ResourceNotFoundException"
        ? ` (no such pipeline in ${region}: check pipelines[].arn in the config)`
        : "";
    return { ...base, outcome: "failed", reason: `${errorMessage(error)}${hint}` };
  }
};

/**
 * Starts every pipeline named by a tick, concurrently. Unknown names become failed results that
 * list the configured names, rather than aborting the others.
 */
export const startPipelines = async (
  names: readonly string[],
  scheduledTime: string | undefined,
  deps: StartPipelineDeps,
): Promise<PipelineStartResult[]> =>
  Promise.all(
    names.map((name) => {
      const pipeline = deps.config.pipelines.find((candidate) => candidate.name === name);
      if (pipeline) return startPipeline(pipeline, scheduledTime, deps);
      const now = new Date(deps.clock.now()).toISOString();
      return Promise.resolve<PipelineStartResult>({
        pipeline: name,
        outcome: "failed",
        scheduledTime: scheduledTime ?? now,
        decidedAt: now,
        reason: `unknown pipeline "${name}" (configured: ${deps.config.pipelines.map((p) => p.name).join(", ")})`,
      });
    }),
  );
