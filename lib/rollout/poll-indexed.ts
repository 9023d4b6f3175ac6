import { type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import { isRefreshOpen, POLL_CONCURRENCY, pollGroup, type Round } from "./poll-group.ts";
import { needsSettling, settleEndedGroups } from "./settle.ts";
import { padWave, type RolloutRecord, type RolloutStore } from "./store/index.ts";
import { retryIfGrantNotPropagated, type WatchDeps } from "./watch.ts";
import { PROGRESS_INDEX, recordTargetOutcome } from "./wave-progress.ts";

/**
 * The poll of a rollout with the `progress` index (lib/rollout/wave-progress.ts): the open targets
 * of the dispatched waves and the failed ones, from a cursor, round the key space.
 */

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

export const pollIndexed = async (
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
