import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Alert } from "../alerts/types.ts";
import type { Clock } from "../aws/clock.ts";
import { findPipeline } from "../config/find.ts";
import type { OrchestratorConfig } from "../config/schema.ts";
import { UnknownNameError } from "../errors.ts";
import { sendTargetMessages, targetMessage } from "./dispatch.ts";
import { failureReason } from "./failure-reason.ts";
import { decide, factsFromState, type RolloutDecision } from "./progress.ts";
import { createRolloutStore } from "./store/index.ts";
import { factsFromIndex, readWavesFromTable } from "./wave-progress.ts";

export interface AdvanceDeps {
  readonly config: OrchestratorConfig;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly clock: Clock;
  /** Sends an alert (to the alerts queue); deduplicated downstream, so calling it twice is fine. */
  readonly publishAlert?: ((alert: Alert) => Promise<void>) | undefined;
}

export interface AdvanceOutcome {
  readonly rolloutId: string;
  readonly pipeline?: string;
  readonly decision: RolloutDecision;
  /** Targets sent, when this call dispatched a wave. */
  readonly dispatchedTargets?: number;
  /**
   * True when this call is the one that ended the rollout (a failure is alerted once, however
   * many watchers saw it).
   */
  readonly ended?: boolean;
}

/**
 * Moves a rollout forward as far as its recorded state allows: sends the next wave when the
 * current one succeeded and baked, or ends the rollout (succeeded, or failed: later waves never
 * start). Safe to call from anywhere, any number of times, concurrently: a wave is claimed
 * before it is sent, recorded once sent, and a rollout ends once.
 */
export const advanceRollout = async (
  rolloutId: string,
  deps: AdvanceDeps,
): Promise<AdvanceOutcome> => {
  const store = createRolloutStore(deps.db, deps.table);
  const record = await store.rollouts.get(rolloutId);
  if (!record) return { rolloutId, decision: { action: "none", reason: "no such rollout" } };
  const pipeline = findPipeline(deps.config, record.pipeline);
  const base = { rolloutId, pipeline: record.pipeline };
  if (!pipeline?.rollout) {
    return { ...base, decision: { action: "none", reason: "pipeline no longer configured" } };
  }
  // Our clock decides bakes and freezes, never the time an event claims: events can be forged
  // or replayed, and Lambda keeps this clock synchronised.
  const now = deps.clock.now();
  const nowIso = new Date(now).toISOString();
  if (record.status !== "in-progress")
    return { ...base, decision: { action: "none", reason: `rollout ${record.status}` } };
  // A few index items whatever the fleet; the whole rollout only for one planned before it.
  const legacy = record.progressIndexed ? undefined : await store.rollouts.load(rolloutId);
  const facts = legacy ? factsFromState(legacy) : await factsFromIndex(deps.db, deps.table, record);
  let decision = decide(record, facts, pipeline, deps.config, now);
  // The index said the current wave is done: the table confirms it, and holds the next wave's
  // targets (a wave just planned may not be in the index yet): one read for both
  // (wave-progress.ts).
  const current = record.dispatchedWave;
  const fromTable =
    legacy || (decision.action !== "dispatch" && decision.action !== "succeed")
      ? undefined
      : await readWavesFromTable(deps.db, deps.table, rolloutId, [
          ...(current >= 0 ? [current] : []),
          ...(decision.action === "dispatch" ? [decision.waveIndex] : []),
        ]);
  const confirmed = current >= 0 ? fromTable?.get(current) : undefined;
  if (confirmed && confirmed.failures.length > 0)
    decision = { action: "fail", failures: confirmed.failures };
  else if (confirmed && confirmed.open.length > 0)
    return {
      ...base,
      decision: {
        action: "wait",
        reason: `${confirmed.open.length} target(s) of the wave not finished yet (the index is catching up)`,
      },
    };
  switch (decision.action) {
    case "dispatch": {
      const claimed = await store.rollouts.claimWave(
        rolloutId,
        { previous: record.dispatchedWave, next: decision.waveIndex },
        now,
      );
      if (!claimed) {
        return {
          ...base,
          decision: { action: "none", reason: "another invocation is dispatching it" },
        };
      }
      const waveIndex = decision.waveIndex;
      // From the table, read consistently: a wave just planned may not be in the index yet.
      const targets = legacy
        ? legacy.targets.filter((target) => target.waveIndex === waveIndex)
        : (fromTable?.get(waveIndex)?.open ?? []);
      await sendTargetMessages(
        deps.sqs,
        deps.queueUrl,
        targets.map((target) => targetMessage(record, target)),
      );
      await store.rollouts.markWaveDispatched(rolloutId, decision.waveIndex, nowIso);
      return { ...base, decision, dispatchedTargets: targets.length };
    }
    case "succeed":
      return {
        ...base,
        decision,
        ended: await store.rollouts.finish(rolloutId, "succeeded", {}, nowIso),
      };
    case "fail": {
      // Alert before ending the rollout: if this invocation dies in between, the retry still
      // sees the failure and alerts (the alerts function drops the duplicate).
      await deps.publishAlert?.({
        kind: "rollout-failed",
        rolloutId,
        pipeline: record.pipeline,
        failures: decision.failures,
      });
      const reason = failureReason(decision.failures);
      return {
        ...base,
        decision,
        ended: await store.rollouts.finish(rolloutId, "failed", { reason }, nowIso),
      };
    }
    default:
      return { ...base, decision };
  }
};

/**
 * An operator approves a manual-approval wave of a rollout (by id or name, or the pipeline's
 * latest image),
 * then the rollout moves on if everything else allows it (previous wave done and baked, no
 * freeze). Approving twice changes nothing.
 */
export const approveWaveAndAdvance = async (
  request: { wave: string; pipeline?: string; rolloutId?: string },
  deps: AdvanceDeps,
): Promise<AdvanceOutcome & { wave: string }> => {
  // The rollout's id (its image ARN) or the readable name status shows; else the pipeline's
  // latest image.
  const store = createRolloutStore(deps.db, deps.table);
  const rolloutId = request.rolloutId
    ? await store.pipelines.resolve(request.rolloutId, request.pipeline)
    : request.pipeline
      ? (await store.pipelines.latest(request.pipeline, 1))[0]
      : undefined;
  const state = rolloutId ? await store.rollouts.load(rolloutId) : undefined;
  if (!rolloutId || !state) {
    throw new UnknownNameError(
      `no rollout ${request.rolloutId ?? `of pipeline "${request.pipeline}"`}`,
    );
  }
  const waves = findPipeline(deps.config, state.record.pipeline)?.rollout?.waves ?? [];
  const waveIndex = waves.findIndex((wave) => wave.name === request.wave);
  if (waveIndex < 0) {
    throw new UnknownNameError(
      `pipeline "${state.record.pipeline}" has no wave "${request.wave}" (waves: ${waves.map((wave) => wave.name).join(", ")})`,
    );
  }
  await store.rollouts.approveWave(rolloutId, waveIndex, new Date(deps.clock.now()).toISOString());
  return { ...(await advanceRollout(rolloutId, deps)), wave: request.wave };
};
