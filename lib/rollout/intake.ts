import type { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Alert } from "../alerts/types.ts";
import type { Clock } from "../aws/clock.ts";
import { findPipelineByArn } from "../config/find.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { OrchestratorError } from "../errors.ts";
import type { ImageStateChange } from "../events/image-state.ts";
import { completeFromGetImage, type ImageFromGetImage } from "../image-builder/get-image.ts";
import { advanceRollout } from "./advance.ts";
import { lineageOf } from "./lineage.ts";
import { type MismatchSummary, summariseMismatches } from "./mismatches.ts";
import { planRollout, rolloutNameOf } from "./plan.ts";
import { createRolloutStore } from "./store/index.ts";

export interface IntakeDeps {
  readonly config: OrchestratorConfig;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly imageBuilder: (region: string) => ImagebuilderClient;
  readonly clock: Clock;
  /** Sends an alert (to the alerts queue); deduplicated downstream. */
  readonly publishAlert?: ((alert: Alert) => Promise<void>) | undefined;
}

/** Why a notification was not believed. */
export type RejectionReason =
  | "unconfigured-topic"
  | "image-outside-pipeline-scope"
  | "pipeline-not-on-topic"
  | "status-mismatch";

/**
 * A notification that does not hold up against the config and GetImage: nothing is rolled out.
 * Not retryable (the same message is rejected again); the handler logs it with its context and
 * fails the invocation, so the event reaches the failed-events queue, whose alarm alerts.
 */
export class RejectedNotificationError extends OrchestratorError {
  readonly reason: RejectionReason;
  readonly context: Readonly<Record<string, string>>;

  constructor(reason: RejectionReason, message: string, context: Record<string, string>) {
    super(`image notification rejected (${reason}): ${message}`);
    this.reason = reason;
    this.context = context;
  }
}

/** Partition, region and account of an ARN (`arn:<partition>:<service>:<region>:<account>:…`). */
const scopeOf = (arn: string) => {
  const [, partition = "", , region = "", accountId = ""] = arn.split(":");
  return { partition, region, accountId };
};
const sameScope = (a: string, b: string): boolean => {
  const left = scopeOf(a);
  const right = scopeOf(b);
  return (
    left.partition === right.partition &&
    left.region === right.region &&
    left.accountId === right.accountId
  );
};

const contextOf = (change: ImageStateChange): Record<string, string> => ({
  imageArn: change.imageArn,
  source: change.source,
  status: change.status,
  ...(change.topicArn ? { topicArn: change.topicArn } : {}),
  ...(change.deliveryId ? { deliveryId: change.deliveryId } : {}),
  ...(change.pipelineArn ? { claimedPipelineArn: change.pipelineArn } : {}),
});

/**
 * Which configured pipelines may have produced this image, before believing anything else the
 * notification says. An SNS record counts only from a topic the config names
 * (`notificationTopicArn`), and only for the pipelines that name it; its image ARN must be in the
 * partition, account and region of one of them, so GetImage is never sent anywhere a message
 * chooses. An EventBridge event comes from the default bus with source `aws.imagebuilder`, which
 * only AWS can emit (EventBridge user guide, "Events from AWS services"); an image there from an
 * account and region no pipeline builds in is simply not ours (`undefined`).
 */
const candidatePipelines = (
  change: ImageStateChange,
  config: OrchestratorConfig,
): readonly PipelineConfig[] | undefined => {
  if (change.source === "eventbridge") {
    const scoped = config.pipelines.filter((pipeline) => sameScope(pipeline.arn, change.imageArn));
    return scoped.length > 0 ? scoped : undefined;
  }
  const onTopic = config.pipelines.filter(
    (pipeline) =>
      change.topicArn !== undefined && pipeline.notificationTopicArn === change.topicArn,
  );
  if (onTopic.length === 0) {
    throw new RejectedNotificationError(
      "unconfigured-topic",
      `SNS record from ${change.topicArn ?? "no topic"}, which no pipeline configures as its notificationTopicArn`,
      contextOf(change),
    );
  }
  const scoped = onTopic.filter((pipeline) => sameScope(pipeline.arn, change.imageArn));
  if (scoped.length === 0) {
    const { partition, region, accountId } = scopeOf(change.imageArn);
    throw new RejectedNotificationError(
      "image-outside-pipeline-scope",
      `image ${change.imageArn} is in partition ${partition}, region ${region}, account ${accountId}; the topic's pipelines (${onTopic.map((pipeline) => pipeline.name).join(", ")}) build elsewhere`,
      contextOf(change),
    );
  }
  return scoped;
};

/**
 * Reads the image with GetImage (in a configured pipeline's region) and checks that what AWS says
 * matches what the notification claimed: the same status, and a pipeline the notification could
 * come from. The rollout is then planned from GetImage's answer alone.
 */
const readNotifiedImage = async (
  change: ImageStateChange,
  candidates: readonly PipelineConfig[],
  deps: IntakeDeps,
): Promise<{ image: ImageFromGetImage; pipeline: PipelineConfig | undefined }> => {
  const { region } = scopeOf(candidates[0]?.arn ?? change.imageArn);
  const image = await completeFromGetImage(deps.imageBuilder(region), change);
  if (image.status !== image.notifiedStatus) {
    throw new RejectedNotificationError(
      "status-mismatch",
      `notified ${image.notifiedStatus}, but GetImage says ${image.status}`,
      { ...contextOf(change), getImageStatus: image.status },
    );
  }
  const configured = image.pipelineArn
    ? findPipelineByArn(deps.config, image.pipelineArn)
    : undefined;
  if (configured && !candidates.includes(configured)) {
    throw new RejectedNotificationError(
      "pipeline-not-on-topic",
      `GetImage says ${image.imageArn} comes from ${configured.name}, which ${change.source === "sns" ? `does not notify ${change.topicArn}` : "builds in another account or region"}`,
      { ...contextOf(change), pipelineArn: configured.arn },
    );
  }
  return { image, pipeline: configured };
};

/** Counts and first entries: an outcome (returned and logged) must not grow with the fleet. */
type Mismatches = MismatchSummary;

export type ImageStateOutcome =
  | ({
      readonly outcome: "rollout-started";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly wave: string;
      readonly targets: number;
      /** Older unfinished rollouts of the pipeline this image superseded. */
      readonly superseded: readonly string[];
    } & Mismatches)
  /** Recorded, but its first wave is held (manual approval, freeze window); the watcher starts it. */
  | ({
      readonly outcome: "rollout-held";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly reason: string;
      readonly superseded: readonly string[];
    } & Mismatches)
  /** A newer image of the pipeline is already rolling out (notifications arrived out of order). */
  | {
      readonly outcome: "stale-image";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly newerRollout: string;
    }
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
 * What on-image-state does with one state change. A notification is a hint, never the truth:
 * it is checked against the config (topic, partition, account, region), then the image is read
 * with GetImage and only GetImage's answer is acted on; a notification that does not hold up
 * throws RejectedNotificationError. AVAILABLE: plan the rollout over the distributed AMIs, record
 * it (conditionally: a duplicate creates nothing) and send the first wave's targets, then record
 * the wave as sent. FAILED is returned for alerting; other states are not ours to act on.
 */
export const handleImageStateChange = async (
  change: ImageStateChange,
  deps: IntakeDeps,
): Promise<ImageStateOutcome> => {
  if (change.status !== "AVAILABLE" && change.status !== "FAILED") {
    return { outcome: "ignored-state", imageArn: change.imageArn, status: change.status };
  }
  const candidates = candidatePipelines(change, deps.config);
  if (!candidates) return { outcome: "unknown-pipeline", imageArn: change.imageArn };
  const { image, pipeline } = await readNotifiedImage(change, candidates, deps);
  if (image.status === "FAILED") {
    await deps.publishAlert?.({
      kind: "build-failed",
      imageArn: image.imageArn,
      ...(pipeline ? { pipeline: pipeline.name } : {}),
      ...(image.pipelineArn ? { pipelineArn: image.pipelineArn } : {}),
      ...(image.reason ? { reason: image.reason } : {}),
    });
    return {
      outcome: "build-failed",
      imageArn: image.imageArn,
      ...(pipeline ? { pipeline: pipeline.name } : {}),
      ...(image.reason ? { reason: image.reason } : {}),
    };
  }
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
  const plan = { ...planRollout(deps.config, pipeline, image), lineage: lineageOf(image) };
  const mismatches = summariseMismatches(plan);
  const now = new Date(deps.clock.now()).toISOString();
  const store = createRolloutStore(deps.db, deps.table);
  const { record } = await store.rollouts.create(plan, now);
  const index = () => store.pipelines.index(record);
  if (plan.targets.length === 0) {
    await index();
    return {
      outcome: "no-targets",
      rolloutId: plan.rolloutId,
      pipeline: pipeline.name,
      ...mismatches,
    };
  }
  if (record.dispatchedWave >= 0 || record.status !== "in-progress") {
    return { outcome: "duplicate", rolloutId: plan.rolloutId, pipeline: pipeline.name };
  }
  // One rollout per pipeline at a time: the newest image wins, whatever order notifications
  // arrive in. Newer means a newer unfinished rollout, or a newer image already indexed (one that
  // finished: rolling an older image out after it would downgrade the fleet).
  const others = (await store.active.list(pipeline.name)).filter(
    (other) => other.rolloutId !== plan.rolloutId,
  );
  const [latest] = await store.pipelines.latest(pipeline.name, 1);
  const newer = [...others.map((other) => other.rolloutId), ...(latest ? [latest] : [])]
    .filter((other) => compareRolloutIds(other, plan.rolloutId) > 0)
    .sort((a, b) => compareRolloutIds(b, a))[0];
  if (newer) {
    await store.rollouts.finish(
      plan.rolloutId,
      "superseded",
      { supersededBy: newer, reason: "a newer image was already rolled out" },
      now,
    );
    // Not indexed: approve and rollback act on the pipeline's latest image, never on this one.
    return {
      outcome: "stale-image",
      rolloutId: plan.rolloutId,
      pipeline: pipeline.name,
      newerRollout: newer,
    };
  }
  // Indexed before the first wave is sent, so approve/rollback can reach it from then on; a
  // crash in between leaves the record undispatched, and the redelivery indexes it again.
  await index();
  const superseded: string[] = [];
  for (const other of others) {
    if (
      await store.rollouts.finish(
        other.rolloutId,
        "superseded",
        { supersededBy: plan.rolloutId },
        now,
      )
    ) {
      superseded.push(other.rolloutId);
      await deps.publishAlert?.({
        kind: "rollout-superseded",
        rolloutId: other.rolloutId,
        pipeline: pipeline.name,
        supersededBy: plan.rolloutId,
      });
    }
  }
  const advanced = await advanceRollout(plan.rolloutId, deps);
  if (advanced.decision.action !== "dispatch") {
    const reason =
      "reason" in advanced.decision ? advanced.decision.reason : advanced.decision.action;
    return {
      outcome: "rollout-held",
      rolloutId: plan.rolloutId,
      pipeline: pipeline.name,
      reason,
      superseded,
      ...mismatches,
    };
  }
  return {
    outcome: "rollout-started",
    rolloutId: plan.rolloutId,
    pipeline: pipeline.name,
    wave: advanced.decision.wave,
    targets: advanced.dispatchedTargets ?? 0,
    superseded,
    ...mismatches,
  };
};

/**
 * Orders two rollouts of one pipeline by their image: semantic version, then build number
 * (`1.10.0/2` is newer than `1.9.0/7`). Never by notification time, which can be out of order.
 */
export const compareRolloutIds = (a: string, b: string): number => {
  const parts = (id: string) =>
    (rolloutNameOf(id).split("/").slice(-2).join(".").match(/\d+/g) ?? []).map(Number);
  const left = parts(a);
  const right = parts(b);
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
};
