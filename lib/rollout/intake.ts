import type { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../aws/clock.ts";
import { findPipelineByArn } from "../config/load.ts";
import type { OrchestratorConfig } from "../config/schema.ts";
import type { ImageStateChange } from "../events/image-state.ts";
import { completeFromGetImage, regionOfImageArn } from "../image-builder/get-image.ts";
import { sendTargetMessages, targetMessage } from "./dispatch.ts";
import { planRollout, type RolloutPlan } from "./plan.ts";
import { createRollout, markWaveDispatched } from "./store.ts";

export interface IntakeDeps {
  readonly config: OrchestratorConfig;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly imageBuilder: (region: string) => ImagebuilderClient;
  readonly clock: Clock;
}

type Mismatches = Pick<RolloutPlan, "targetsWithoutAmi" | "amisWithoutTarget">;

export type ImageStateOutcome =
  | ({
      readonly outcome: "rollout-started";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly wave: string;
      readonly targets: number;
    } & Mismatches)
  /** The rollout exists and its first wave was sent: a duplicate or replayed notification. */
  | { readonly outcome: "duplicate"; readonly rolloutId: string; readonly pipeline: string }
  /** No configured target received an AMI: the distribution configuration misses them all. */
  | ({
      readonly outcome: "no-targets";
      readonly rolloutId: string;
      readonly pipeline: string;
    } & Mismatches)
  | {
      readonly outcome: "unknown-pipeline";
      readonly imageArn: string;
      readonly pipelineArn?: string;
    }
  | {
      readonly outcome: "no-rollout-configured";
      readonly pipeline: string;
      readonly imageArn: string;
    }
  | {
      readonly outcome: "build-failed";
      readonly imageArn: string;
      readonly pipeline?: string;
      readonly reason?: string;
    }
  | { readonly outcome: "ignored-state"; readonly imageArn: string; readonly status: string };

/**
 * What on-image-state does with one state change. AVAILABLE: plan the rollout over the
 * distributed AMIs, record it (conditionally: a duplicate creates nothing) and send the first
 * wave's targets, then record the wave as sent. FAILED is returned for alerting; other states
 * are not ours to act on.
 */
export const handleImageStateChange = async (
  change: ImageStateChange,
  deps: IntakeDeps,
): Promise<ImageStateOutcome> => {
  if (change.status === "FAILED") {
    const pipeline = change.pipelineArn
      ? findPipelineByArn(deps.config, change.pipelineArn)?.name
      : undefined;
    return {
      outcome: "build-failed",
      imageArn: change.imageArn,
      ...(pipeline ? { pipeline } : {}),
      ...(change.reason ? { reason: change.reason } : {}),
    };
  }
  if (change.status !== "AVAILABLE") {
    return { outcome: "ignored-state", imageArn: change.imageArn, status: change.status };
  }
  const image =
    change.amis === undefined
      ? await completeFromGetImage(
          deps.imageBuilder(regionOfImageArn(change.imageArn) ?? ""),
          change,
        )
      : { ...change, amis: change.amis };
  const pipeline = image.pipelineArn
    ? findPipelineByArn(deps.config, image.pipelineArn)
    : undefined;
  if (!pipeline) {
    return {
      outcome: "unknown-pipeline",
      imageArn: image.imageArn,
      ...(image.pipelineArn ? { pipelineArn: image.pipelineArn } : {}),
    };
  }
  if (!pipeline.rollout) {
    return { outcome: "no-rollout-configured", pipeline: pipeline.name, imageArn: image.imageArn };
  }
  const plan = planRollout(deps.config, pipeline, image);
  const mismatches = {
    targetsWithoutAmi: plan.targetsWithoutAmi,
    amisWithoutTarget: plan.amisWithoutTarget,
  };
  const now = new Date(deps.clock.now()).toISOString();
  const { record } = await createRollout(deps.db, deps.table, plan, now);
  if (plan.targets.length === 0) {
    return {
      outcome: "no-targets",
      rolloutId: plan.rolloutId,
      pipeline: pipeline.name,
      ...mismatches,
    };
  }
  if (record.dispatchedWave >= 0) {
    return { outcome: "duplicate", rolloutId: plan.rolloutId, pipeline: pipeline.name };
  }
  const firstWave = Math.min(...plan.targets.map((target) => target.waveIndex));
  const wave = plan.targets.filter((target) => target.waveIndex === firstWave);
  await sendTargetMessages(
    deps.sqs,
    deps.queueUrl,
    wave.map((target) => targetMessage(plan, target)),
  );
  await markWaveDispatched(deps.db, deps.table, plan.rolloutId, firstWave, now);
  return {
    outcome: "rollout-started",
    rolloutId: plan.rolloutId,
    pipeline: pipeline.name,
    wave: wave[0]?.wave ?? "",
    targets: wave.length,
    ...mismatches,
  };
};
