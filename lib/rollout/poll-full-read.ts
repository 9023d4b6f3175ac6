import pMap from "p-map";
import { isRefreshOpen, POLL_CONCURRENCY, pollGroup, type Round } from "./poll-group.ts";
import { targetProgress } from "./progress.ts";
import { needsSettling, settleEndedGroups } from "./settle.ts";
import type { GroupRecord, RolloutRecord, RolloutState, RolloutStore } from "./store/index.ts";
import { retryIfGrantNotPropagated, type WatchDeps } from "./watch.ts";
import { recordTargetOutcome } from "./wave-progress.ts";

/**
 * The poll of a rollout planned before the `progress` index: every target and group read at once
 * (such rollouts are small: they predate fleet-scale rollouts), resuming at a group cursor.
 */
export const pollFullRead = async (
  record: RolloutRecord,
  pollCursor: string | undefined,
  round: Round,
  deps: WatchDeps,
  store: RolloutStore,
  timeLeft: () => number,
): Promise<void> => {
  const state = await store.rollouts.load(record.rolloutId);
  if (!state) return;
  const keyOf = (group: GroupRecord) => `${group.accountId}#${group.region}#${group.group}`;
  const all = state.groups.filter(isRefreshOpen).sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  const start = Math.max(0, pollCursor ? all.findIndex((group) => keyOf(group) >= pollCursor) : 0);
  await pMap(
    [...all.slice(start), ...all.slice(0, start)],
    async (group) => {
      if (round.cursor !== undefined || timeLeft() <= 0) {
        round.cursor ??= keyOf(group);
        return;
      }
      await pollGroup(state.record, group, round, deps, store);
    },
    { concurrency: POLL_CONCURRENCY },
  );
  if (round.updated.length > 0) await retryIfGrantNotPropagated(record.rolloutId, deps);
  const current = await store.rollouts.load(record.rolloutId);
  if (!current) return;
  if (current.groups.some(needsSettling)) await settleEndedGroups(current, deps);
  await recordEndedTargets(current, deps);
  const after = await store.rollouts.load(record.rolloutId);
  round.live =
    round.cursor !== undefined ||
    (after?.groups.some((group) => isRefreshOpen(group) || needsSettling(group)) ?? false);
};

/**
 * The backstop of the progress index for a rollout read whole: a target whose groups have all
 * ended but whose outcome was not recorded.
 */
const recordEndedTargets = async (state: RolloutState, deps: WatchDeps): Promise<void> => {
  const groupsOf = new Map<string, GroupRecord[]>();
  for (const group of state.groups) {
    const key = `${group.accountId}#${group.region}`;
    groupsOf.set(key, [...(groupsOf.get(key) ?? []), group]);
  }
  const now = new Date(deps.clock.now()).toISOString();
  for (const target of state.targets) {
    if (!target.progress?.startsWith("open#")) continue;
    const where = { accountId: target.accountId, region: target.region };
    const progress = targetProgress(
      target,
      groupsOf.get(`${target.accountId}#${target.region}`) ?? [],
    );
    if (progress.state !== "running")
      await recordTargetOutcome(deps.db, deps.table, state.record.rolloutId, where, now);
  }
};
