import { activeFreezeWindow } from "../config/freeze-windows.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import type { RolloutFailure } from "./plan.ts";
import type { GroupRecord, RolloutState, TargetRecord } from "./store/index.ts";

/** Where one target stands, from its record and its groups' refresh outcomes. */
export type TargetProgress =
  | { readonly state: "running" }
  | { readonly state: "succeeded"; readonly finishedAt?: string }
  | { readonly state: "failed"; readonly failures: readonly RolloutFailure[] };

export type { RolloutFailure } from "./plan.ts";

const GROUP_FAILED = new Set<GroupRecord["status"]>(["failed", "rolled-back", "cancelled"]);
const GROUP_DONE = new Set<GroupRecord["status"]>(["succeeded", "up-to-date"]);

const latest = (times: ReadonlyArray<string | undefined>): string | undefined =>
  times
    .filter((time): time is string => Boolean(time))
    .sort()
    .at(-1);

export const targetProgress = (
  target: TargetRecord,
  groups: readonly GroupRecord[],
): TargetProgress => {
  const where = {
    wave: target.wave,
    account: target.account,
    accountId: target.accountId,
    region: target.region,
  };
  const failedGroups = groups.filter((group) => GROUP_FAILED.has(group.status));
  if (failedGroups.length > 0 || target.status === "failed") {
    const failures: RolloutFailure[] = failedGroups.map((group) => ({
      ...where,
      group: group.group,
      ...(group.instanceRefreshId ? { instanceRefreshId: group.instanceRefreshId } : {}),
      reason: `${group.refreshStatus ?? group.status}: ${group.reason ?? "no reason given"}`,
    }));
    if (failures.length === 0)
      failures.push({ ...where, reason: target.reason ?? "target failed" });
    return { state: "failed", failures };
  }
  if (target.status === "up-to-date" || target.status === "refreshing") {
    if (groups.every((group) => GROUP_DONE.has(group.status))) {
      // When its refreshes ended: their EndTime as DescribeInstanceRefreshes answered our poll,
      // or our clock when an event told us (never the event's own `time`). The record's last
      // write only for a target that refreshed nothing.
      const finishedAt =
        latest(groups.map((group) => group.finishedAt)) ?? latest([target.updatedAt]);
      return { state: "succeeded", ...(finishedAt ? { finishedAt } : {}) };
    }
  }
  return { state: "running" };
};

export type RolloutDecision =
  | { readonly action: "none"; readonly reason: string }
  | { readonly action: "wait"; readonly reason: string; readonly until?: string }
  | { readonly action: "dispatch"; readonly waveIndex: number; readonly wave: string }
  | { readonly action: "succeed" }
  | { readonly action: "fail"; readonly failures: readonly RolloutFailure[] };

/**
 * What a decision needs to know about the waves, whichever way it was read: from the `progress`
 * index (lib/rollout/wave-progress.ts, a few items whatever the fleet) or, for rollouts planned
 * before it, from every target and group (`factsFromState`).
 */
export interface WaveFacts {
  /** Failures among the dispatched targets (a sample: any one fails the rollout). */
  readonly failures: readonly RolloutFailure[];
  /** Whether a dispatched target is still running, and how the wave stands if that is known. */
  readonly running: boolean;
  readonly runningDetail?: string;
  /** When the last dispatched target finished: the current wave's bake starts there. */
  readonly finishedAt?: string;
  /** The next wave with targets after the current one, if any. */
  readonly nextWave?: number;
}

/** The facts from every target and group of the rollout (rollouts planned before the index). */
export const factsFromState = (state: RolloutState): WaveFacts => {
  const current = state.record.dispatchedWave;
  const groupsByTarget = new Map<string, GroupRecord[]>();
  for (const group of state.groups) {
    const key = `${group.accountId}#${group.region}`;
    groupsByTarget.set(key, [...(groupsByTarget.get(key) ?? []), group]);
  }
  const dispatched = state.targets.filter((target) => target.waveIndex <= current);
  const progress = dispatched.map((target) =>
    targetProgress(target, groupsByTarget.get(`${target.accountId}#${target.region}`) ?? []),
  );
  const inWave = dispatched
    .map((target, index) => ({ target, entry: progress[index] }))
    .filter(({ target }) => target.waveIndex === current);
  const done = inWave.filter(({ entry }) => entry?.state === "succeeded").length;
  const next = Math.min(
    ...state.targets.filter((target) => target.waveIndex > current).map((t) => t.waveIndex),
  );
  const finishedAt = latest(
    progress.map((entry) => (entry.state === "succeeded" ? entry.finishedAt : undefined)),
  );
  return {
    failures: progress.flatMap((entry) => (entry.state === "failed" ? entry.failures : [])),
    running: progress.some((entry) => entry.state === "running"),
    runningDetail: `${done} of ${inWave.length} target(s) done`,
    ...(finishedAt ? { finishedAt } : {}),
    ...(Number.isFinite(next) ? { nextWave: next } : {}),
  };
};

/**
 * What the rollout should do next, from its recorded state alone (so an event and a poll reach
 * the same answer). The current wave must have fully succeeded (every refresh Successful, or
 * nothing to replace) and baked; the next wave may also need an approval and must not be inside
 * a freeze window. Any failure in a dispatched wave fails the rollout: later waves never start.
 */
export const decideNext = (
  state: RolloutState,
  pipeline: PipelineConfig,
  config: Pick<OrchestratorConfig, "freeze">,
  now: number,
): RolloutDecision => decide(state.record, factsFromState(state), pipeline, config, now);

export const decide = (
  record: RolloutState["record"],
  facts: WaveFacts,
  pipeline: PipelineConfig,
  config: Pick<OrchestratorConfig, "freeze">,
  now: number,
): RolloutDecision => {
  if (record.status !== "in-progress")
    return { action: "none", reason: `rollout ${record.status}` };
  const waves = pipeline.rollout?.waves ?? [];
  const current = record.dispatchedWave;
  if (facts.failures.length > 0) return { action: "fail", failures: facts.failures };
  const currentName = waves[current]?.name ?? "";
  if (facts.running) {
    return {
      action: "wait",
      reason: `wave "${currentName}": ${facts.runningDetail ?? "targets still running"}`,
    };
  }
  const next = facts.nextWave;
  if (next === undefined) return { action: "succeed" };
  const nextWave = waves[next];
  const nextName = nextWave?.name ?? String(next);
  if (current >= 0) {
    const bakeMs = (waves[current]?.bakeMinutes ?? 0) * 60_000;
    const bakedAt = (facts.finishedAt ? Date.parse(facts.finishedAt) : now) + bakeMs;
    if (now < bakedAt) {
      return {
        action: "wait",
        reason: `wave "${currentName}" baking before "${nextName}"`,
        until: new Date(bakedAt).toISOString(),
      };
    }
  }
  if (nextWave?.approval === "manual" && !record.approvals?.[String(next)]) {
    return { action: "wait", reason: `wave "${nextName}" waits for manual approval` };
  }
  const freeze = activeFreezeWindow(
    [...config.freeze, ...pipeline.freeze],
    now,
    pipeline.schedule?.timezone ?? "UTC",
  );
  if (freeze) {
    return {
      action: "wait",
      reason: `freeze window ${freeze.from} → ${freeze.to}${freeze.reason ? ` (${freeze.reason})` : ""}`,
      until: new Date(freeze.end).toISOString(),
    };
  }
  return { action: "dispatch", waveIndex: next, wave: nextName };
};
