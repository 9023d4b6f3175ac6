import { activeFreezeWindow } from "../config/freeze-windows.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import type { GroupRecord, RolloutState, TargetRecord } from "./store.ts";

/** Where one target stands, from its record and its groups' refresh outcomes. */
export type TargetProgress =
  | { readonly state: "running" }
  | { readonly state: "succeeded"; readonly finishedAt?: string }
  | { readonly state: "failed"; readonly failures: readonly RolloutFailure[] };

export interface RolloutFailure {
  readonly wave: string;
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly group?: string;
  readonly instanceRefreshId?: string;
  readonly reason: string;
}

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
): RolloutDecision => {
  const { record } = state;
  if (record.status !== "in-progress")
    return { action: "none", reason: `rollout ${record.status}` };
  const waves = pipeline.rollout?.waves ?? [];
  const current = record.dispatchedWave;
  const groupsOf = (target: TargetRecord) =>
    state.groups.filter(
      (group) => group.accountId === target.accountId && group.region === target.region,
    );
  const dispatched = state.targets.filter((target) => target.waveIndex <= current);
  const progress = dispatched.map((target) => targetProgress(target, groupsOf(target)));
  const failures = progress.flatMap((entry) => (entry.state === "failed" ? entry.failures : []));
  if (failures.length > 0) return { action: "fail", failures };
  const currentName = waves[current]?.name ?? "";
  if (progress.some((entry) => entry.state === "running")) {
    const inWave = dispatched
      .map((target, index) => ({ target, entry: progress[index] }))
      .filter(({ target }) => target.waveIndex === current);
    const done = inWave.filter(({ entry }) => entry?.state === "succeeded").length;
    return {
      action: "wait",
      reason: `wave "${currentName}": ${done} of ${inWave.length} target(s) done`,
    };
  }
  const next = Math.min(
    ...state.targets
      .filter((target) => target.waveIndex > current)
      .map((target) => target.waveIndex),
  );
  if (!Number.isFinite(next)) return { action: "succeed" };
  const nextWave = waves[next];
  const nextName = nextWave?.name ?? String(next);
  if (current >= 0) {
    const completedAt = latest(
      progress.map((entry) => (entry.state === "succeeded" ? entry.finishedAt : undefined)),
    );
    const bakeMs = (waves[current]?.bakeMinutes ?? 0) * 60_000;
    const bakedAt = (completedAt ? Date.parse(completedAt) : now) + bakeMs;
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
