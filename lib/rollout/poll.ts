import { type AdvanceOutcome, advanceRollout } from "./advance.ts";
import { pollFullRead } from "./poll-full-read.ts";
import type { Round } from "./poll-group.ts";
import { pollIndexed } from "./poll-indexed.ts";
import { createRolloutStore } from "./store/index.ts";
import type { WatchDeps } from "./watch.ts";

/**
 * The backstop behind the events, every few minutes: for every unfinished rollout, ask AWS about
 * each refresh not known to have ended, record what changed, cancel superseded refreshes when so
 * configured, settle what a lost event left unsettled, and move the rollout on. Reaches the same
 * state as the events would, so a lost event only delays a wave by one poll.
 *
 * Fleet scale (issue 20): the poll reads only the targets that can still need it, from the
 * `progress` index: the open targets of the waves dispatched so far and the failed ones (whose
 * groups may wait for a rollback), each with its few groups. The advance runs first, so a wave to
 * dispatch never waits behind thousands of refreshes to describe, and a poll cut short by its time
 * budget saves where it stopped: the next one starts there, so every refresh is read in turn.
 */

export interface PollOutcome {
  readonly rolloutId: string;
  /** Groups whose refresh status changed in this poll. */
  readonly updated: ReadonlyArray<{ group: string; refreshStatus: string }>;
  readonly cancelled: readonly string[];
  readonly errors: readonly string[];
  readonly advance: AdvanceOutcome;
}

export interface PollOptions {
  /** Real milliseconds this invocation may still spend; refreshes left are read next time. */
  readonly timeLeftMs?: () => number;
}

export const pollRollouts = async (
  deps: WatchDeps,
  options: PollOptions = {},
): Promise<PollOutcome[]> => {
  const outcomes: PollOutcome[] = [];
  const timeLeft = options.timeLeftMs ?? (() => Number.POSITIVE_INFINITY);
  const store = createRolloutStore(deps.db, deps.table);
  for (const { rolloutId, pollCursor } of await store.active.list()) {
    // What the records already allow first: a wave to dispatch or a rollout to end never waits
    // behind the refreshes to describe.
    const early = await advanceRollout(rolloutId, deps);
    const record = await store.rollouts.get(rolloutId);
    if (!record) continue;
    const round: Round = { updated: [], cancelled: [], errors: [], live: false };
    if (record.progressIndexed) await pollIndexed(record, pollCursor, round, deps, store, timeLeft);
    else await pollFullRead(record, pollCursor, round, deps, store, timeLeft);
    await store.active.savePollCursor(rolloutId, round.cursor);
    const late = await advanceRollout(rolloutId, deps);
    // What this poll did: the early advance when it dispatched or ended the rollout.
    const advance = early.dispatchedTargets !== undefined || early.ended ? early : late;
    if (round.cursor === undefined && !round.live) {
      const after = await store.rollouts.get(rolloutId);
      if (after && after.status !== "in-progress") await store.active.deactivate(rolloutId);
    }
    outcomes.push({
      rolloutId,
      updated: round.updated,
      cancelled: round.cancelled,
      errors: round.errors,
      advance,
    });
  }
  return outcomes;
};
