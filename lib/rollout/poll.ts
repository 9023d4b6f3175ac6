import {
  type AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
} from "@aws-sdk/client-auto-scaling";
import { type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import type { AccountConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { type AdvanceOutcome, advanceRollout } from "./advance.ts";
import { targetProgress } from "./progress.ts";
import { needsSettling, settleEndedGroups } from "./settle.ts";
import {
  createRolloutStore,
  type GroupRecord,
  padWave,
  type RolloutRecord,
  type RolloutState,
  type RolloutStore,
  TERMINAL_REFRESH_STATUSES,
} from "./store/index.ts";
import { groupStatusOf, retryIfGrantNotPropagated, type WatchDeps } from "./watch.ts";
import { PROGRESS_INDEX, recordTargetOutcome } from "./wave-progress.ts";

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

/** Targets read at once (a few per account at most, across accounts). */
const POLL_CONCURRENCY = 8;

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_REFRESH_STATUSES);

const isRefreshOpen = (group: GroupRecord) =>
  group.instanceRefreshId !== undefined && !TERMINAL.has(group.refreshStatus ?? "");

const accountById = (deps: WatchDeps, accountId: string): AccountConfig | undefined =>
  Object.values(deps.config.accounts).find((account) => account.id === accountId);

/** What one rollout's poll saw and did. */
interface Round {
  readonly updated: Array<{ group: string; refreshStatus: string }>;
  readonly cancelled: string[];
  readonly errors: string[];
  /** Where the next poll starts, when this one ran out of time. */
  cursor?: string;
  /** Whether anything still runs or waits to be settled (the rollout stays active then). */
  live: boolean;
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

// --- One group -----------------------------------------------------------------------------

/** Asks AWS about one group's refresh, cancels it if superseded and so configured, records it. */
const pollGroup = async (
  record: RolloutRecord,
  group: GroupRecord,
  round: Round,
  deps: WatchDeps,
  store: RolloutStore,
): Promise<boolean> => {
  const account = accountById(deps, group.accountId);
  if (!account) return false;
  const pipeline = deps.config.pipelines.find((p) => p.name === record.pipeline);
  const cancel = record.status === "superseded" && pipeline?.rollout?.onSupersede === "cancel";
  try {
    const client = deps.autoScaling(account, group.region);
    let refresh = await describeRefresh(client, group);
    // Cancel only our own refresh, and only while it runs.
    if (cancel && (refresh?.Status === "Pending" || refresh?.Status === "InProgress")) {
      await cancelRefresh(client, group);
      round.cancelled.push(group.group);
      refresh = await describeRefresh(client, group);
    }
    if (!refresh?.Status || refresh.Status === group.refreshStatus) return false;
    const now = new Date(deps.clock.now()).toISOString();
    const changed = await store.groups.updateRefresh(
      record.rolloutId,
      group,
      {
        refreshStatus: refresh.Status,
        status: groupStatusOf(refresh.Status),
        ...(refresh.StatusReason ? { statusReason: refresh.StatusReason } : {}),
        ...(refresh.PercentageComplete === undefined
          ? {}
          : { percentageComplete: refresh.PercentageComplete }),
        ...(TERMINAL.has(refresh.Status)
          ? { finishedAt: (refresh.EndTime ?? new Date(deps.clock.now())).toISOString() }
          : {}),
      },
      now,
    );
    if (changed) round.updated.push({ group: group.group, refreshStatus: refresh.Status });
    return changed;
  } catch (error) {
    // One unreachable account must not stop the others; the next poll tries again.
    round.errors.push(`${group.accountId}/${group.region}/${group.group}: ${errorMessage(error)}`);
    return false;
  }
};

const describeRefresh = async (client: AutoScalingClient, group: GroupRecord) => {
  const { InstanceRefreshes: refreshes = [] } = await client.send(
    new DescribeInstanceRefreshesCommand({
      AutoScalingGroupName: group.group,
      InstanceRefreshIds: [group.instanceRefreshId as string],
    }),
  );
  return refreshes[0];
};

const cancelRefresh = async (client: AutoScalingClient, group: GroupRecord): Promise<void> => {
  try {
    await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: group.group }));
  } catch (error) {
    // It ended on its own in the meantime: nothing to cancel.
    if (!(error instanceof Error && error.name === "ActiveInstanceRefreshNotFoundFault"))
      throw error;
  }
};

// --- Rollouts with the progress index --------------------------------------------------------

/** A poll position: a target's key in the progress index, and a group name within it. */
interface Position {
  readonly progress: string;
  readonly group: string;
}

const SEPARATOR = "|";
const encode = (position: Position) => `${position.progress}${SEPARATOR}${position.group}`;
const decode = (cursor: string | undefined): Position | undefined => {
  // A cursor of the full-read poll (`<account>#<region>#<group>`) starts the round over.
  if (!cursor || !(cursor.startsWith("open#") || cursor.startsWith("failed#"))) return undefined;
  const at = cursor.indexOf(SEPARATOR);
  return at < 0
    ? { progress: cursor, group: "" }
    : { progress: cursor.slice(0, at), group: cursor.slice(at + 1) };
};
const before = (a: Position, b: Position) =>
  a.progress < b.progress || (a.progress === b.progress && a.group < b.group);

/** Of two index keys, the one DynamoDB sorts later (ASCII keys: code-unit order is byte order). */
const laterKey = (a: string, b: string) => [a, b].sort()[1] as string;
const earlierKey = (a: string, b: string) => [a, b].sort()[0] as string;

/** The end of a key range in the index (every key of the range sorts below it). */
const LAST = "\uffff";

/**
 * The index ranges a poll reads, in key order: the failed targets (their groups may wait for a
 * rollback) and the open targets of the waves dispatched so far. Later waves' targets are open
 * from the start but have nothing to read until their wave is sent.
 */
const pollRanges = (record: RolloutRecord): Array<readonly [string, string]> => [
  ["failed#", `failed#${LAST}`],
  ...(record.dispatchedWave >= 0
    ? [["open#", `open#${padWave(record.dispatchedWave)}#${LAST}`] as const]
    : []),
];

/** The pages of index entries between `from` and `to` (both included). */
const entriesBetween = (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  from: string,
  to: string,
) =>
  paginateQuery(
    { client: db, pageSize: 100 },
    {
      TableName: table,
      IndexName: PROGRESS_INDEX,
      KeyConditionExpression: "pk = :pk AND progress BETWEEN :from AND :to",
      ExpressionAttributeValues: { ":pk": `ROLLOUT#${rolloutId}`, ":from": from, ":to": to },
    },
  );

interface Entry {
  readonly progress: string;
  readonly accountId: string;
  readonly region: string;
  /** Only the groups from this name on (the cursor's target, first time round). */
  readonly from?: string;
  /** Only the groups before this name (the cursor's target, last time round). */
  readonly to?: string;
}

/**
 * The round from the cursor: the entries from it to the end, then from the start back to it. The
 * cursor's own target comes twice: its groups from the cursor on first, the ones before it last.
 */
const roundFrom = async function* (
  deps: WatchDeps,
  record: RolloutRecord,
  cursor: Position | undefined,
): AsyncGenerator<Entry[]> {
  const ranges = pollRanges(record);
  const segments = cursor
    ? [
        ...ranges
          .filter(([, to]) => to >= cursor.progress)
          .map(([from, to]) => ({
            from: laterKey(from, cursor.progress),
            to,
            last: false,
          })),
        ...ranges
          .filter(([from]) => from <= cursor.progress)
          .map(([from, to]) => ({
            from,
            to: earlierKey(to, cursor.progress),
            last: true,
          })),
      ]
    : ranges.map(([from, to]) => ({ from, to, last: false }));
  for (const segment of segments) {
    for await (const page of entriesBetween(
      deps.db,
      deps.table,
      record.rolloutId,
      segment.from,
      segment.to,
    )) {
      yield (page.Items ?? []).map((item) => {
        const progress = String(item.progress);
        const own = cursor !== undefined && progress === cursor.progress;
        return {
          progress,
          accountId: String(item.accountId),
          region: String(item.region),
          ...(own ? (segment.last ? { to: cursor.group } : { from: cursor.group }) : {}),
        };
      });
    }
  }
};

const pollIndexed = async (
  record: RolloutRecord,
  pollCursor: string | undefined,
  round: Round,
  deps: WatchDeps,
  store: RolloutStore,
  timeLeft: () => number,
): Promise<void> => {
  const cursor = decode(pollCursor);
  const stopped: Position[] = [];
  // The budget is looked at before each refresh described (the calls that cost), and once spent
  // no other target is read.
  let spent = false;
  const outOfTime = () => {
    spent ||= timeLeft() <= 0;
    return spent;
  };
  for await (const entries of roundFrom(deps, record, cursor)) {
    await pMap(
      entries,
      async (entry) => {
        const where = { accountId: entry.accountId, region: entry.region };
        if (spent) {
          stopped.push({ progress: entry.progress, group: entry.from ?? "" });
          return;
        }
        const groups = await store.groups.list(record.rolloutId, where);
        const failedTarget = entry.progress.startsWith("failed#");
        if (failedTarget && !groups.some(needsSettling) && !groups.some(isRefreshOpen)) return;
        let changed = false;
        for (const group of [...groups].sort((a, b) => a.group.localeCompare(b.group))) {
          if (entry.from !== undefined && group.group < entry.from) continue;
          if (entry.to !== undefined && group.group >= entry.to) continue;
          if (!isRefreshOpen(group)) continue;
          if (outOfTime()) {
            stopped.push({ progress: entry.progress, group: group.group });
            round.live = true;
            return;
          }
          if (await pollGroup(record, group, round, deps, store)) changed = true;
        }
        if (changed) await retryIfGrantNotPropagated(record.rolloutId, deps, where);
        const now = changed ? await store.groups.list(record.rolloutId, where) : groups;
        if (now.some(isRefreshOpen) || now.some(needsSettling)) round.live = true;
        if (now.some(needsSettling))
          await settleEndedGroups(
            {
              record,
              targets: [],
              groups: now.map((group) => ({ ...group, rolloutId: record.rolloutId })),
            },
            deps,
          );
        if (!failedTarget)
          await recordTargetOutcome(
            deps.db,
            deps.table,
            record.rolloutId,
            where,
            new Date(deps.clock.now()).toISOString(),
          );
      },
      { concurrency: POLL_CONCURRENCY },
    );
    if (stopped.length > 0) break;
  }
  // Where the next poll starts: the first place in key order this one did not reach.
  const first = stopped.reduce<Position | undefined>(
    (earliest, position) => (earliest && !before(position, earliest) ? earliest : position),
    undefined,
  );
  if (first) {
    round.cursor = encode(first);
    round.live = true;
  }
};

// --- Rollouts planned before the index: every target and group, read at once ----------------

const pollFullRead = async (
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
