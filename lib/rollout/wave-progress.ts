import { type DynamoDBDocumentClient, paginateQuery, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure } from "../aws/dynamodb.ts";
import type { RolloutTarget } from "./plan.ts";
import { type RolloutFailure, targetProgress, type WaveFacts } from "./progress.ts";
import { needsSettling } from "./settle.ts";
import {
  getTarget,
  listGroups,
  padWave,
  type RolloutRecord,
  rolloutKey,
  targetKey,
} from "./store/index.ts";

/**
 * Wave progress without reading the fleet. Each target item carries a `progress` sort key in the
 * table's `progress` index (a sparse GSI on pk + progress):
 * - `open#<wave>#<account>#<region>` from the moment the rollout is planned;
 * - `failed#<wave>#…` once the target failed (its first failure projected beside it);
 * - removed once it succeeded.
 * "Is the wave done?" is then one Query for one open target (Limit 1), "did anything fail?" one
 * Query for a few failed ones, and a wave's targets are read once, to dispatch it: the work per
 * event and per decision stays the same from 10 to 10,000 targets. Every write is idempotent (a
 * key set or removed, a time moved forward only), so a retry or a duplicate event changes
 * nothing, with no transaction (DynamoDB Local and dynalite have none, and none is needed).
 *
 * The rollout record keeps, per wave, when its last target finished (`waveFinishedAt`): the bake
 * starts there. It is moved forward before the target leaves the open set, so a crash in between
 * is repaired by the retry, never leaves a wave done with no finish time.
 */

export const PROGRESS_INDEX = "progress";

const failedProgress = (target: Pick<RolloutTarget, "waveIndex" | "accountId" | "region">) =>
  `failed#${padWave(target.waveIndex)}#${target.accountId}#${target.region}`;

/** What a failed target shows in the index: enough for the rollout's alert, bounded in size. */
const FAILURE_TEXT_MAX = 500;

/**
 * Looks at one target (its record and its groups: a constant number of items) and, once it has
 * succeeded or failed, records that in the progress index. Returns where it stands. Targets of a
 * rollout planned before the index existed are left to the full read (`progressIndexed`).
 */
export const recordTargetOutcome = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  where: Pick<RolloutTarget, "accountId" | "region">,
  now: string,
): Promise<"running" | "succeeded" | "failed" | "not-indexed"> => {
  const target = await getTarget(db, table, rolloutId, where);
  if (!target?.progress) return target?.outcome ?? "not-indexed";
  const groups = await listGroups(db, table, rolloutId, where);
  const progress = targetProgress(target, groups);
  if (progress.state === "running") return "running";
  // A succeeded target stays open until its templates are settled (the default version moved,
  // lib/rollout/settle.ts): the poll reads only open and failed targets, so it is what retries a
  // settle an event could not finish, and a wave is done only once its templates say so.
  if (progress.state === "succeeded" && groups.some(needsSettling)) return "running";
  try {
    if (progress.state === "succeeded") {
      await moveWaveFinishedAt(db, table, rolloutId, target.waveIndex, progress.finishedAt ?? now);
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: targetKey(rolloutId, target),
          UpdateExpression: "REMOVE progress SET outcome = :outcome",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":outcome": "succeeded" },
        }),
      );
      return "succeeded";
    }
    const [first] = progress.failures;
    const more = progress.failures.length - 1;
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: targetKey(rolloutId, target),
        UpdateExpression: "SET progress = :progress, outcome = :outcome, failure = :failure",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: {
          ":progress": failedProgress(target),
          ":outcome": "failed",
          ":failure": {
            ...first,
            reason:
              `${first?.reason ?? "failed"}${more > 0 ? ` (and ${more} more group(s))` : ""}`.slice(
                0,
                FAILURE_TEXT_MAX,
              ),
          },
        },
      }),
    );
    return "failed";
  } catch (error) {
    if (isConditionFailure(error)) return "not-indexed";
    throw error;
  }
};

/** Moves the wave's finish time forward (a max: idempotent, whatever order targets finish in). */
const moveWaveFinishedAt = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  waveIndex: number,
  finishedAt: string,
): Promise<void> => {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: rolloutKey(rolloutId),
        UpdateExpression: "SET waveFinishedAt.#wave = :at",
        ConditionExpression:
          "attribute_exists(waveFinishedAt) AND (attribute_not_exists(waveFinishedAt.#wave) OR waveFinishedAt.#wave < :at)",
        ExpressionAttributeNames: { "#wave": String(waveIndex) },
        ExpressionAttributeValues: { ":at": finishedAt },
      }),
    );
  } catch (error) {
    // Already as late or later: nothing to move.
    if (!isConditionFailure(error)) throw error;
  }
};

/** Pages of the rollout's entries in the progress index whose key starts with `prefix`. */
const progressPages = (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  prefix: string,
  limit?: number,
) =>
  paginateQuery(
    { client: db },
    {
      TableName: table,
      IndexName: PROGRESS_INDEX,
      KeyConditionExpression: "pk = :pk AND begins_with(progress, :prefix)",
      ExpressionAttributeValues: { ":pk": `ROLLOUT#${rolloutId}`, ":prefix": prefix },
      ...(limit ? { Limit: limit } : {}),
    },
  );

/** Whether any target of the wave is still open (one item read at most). */
export const waveHasOpenTargets = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  waveIndex: number,
): Promise<boolean> => {
  for await (const page of progressPages(db, table, rolloutId, `open#${padWave(waveIndex)}#`, 1))
    if ((page.Items?.length ?? 0) > 0) return true;
  return false;
};

/** Up to `limit` failures of the rollout, with how many there are at least. */
export const rolloutFailures = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  limit = 10,
): Promise<RolloutFailure[]> => {
  const failures: RolloutFailure[] = [];
  for await (const page of progressPages(db, table, rolloutId, "failed#", limit)) {
    for (const item of page.Items ?? []) if (item.failure) failures.push(item.failure);
    if (failures.length >= limit) break;
  }
  return failures.slice(0, limit);
};

/** A wave as the table holds it: its targets not finished yet, and its failures. */
export interface WaveInTable {
  readonly open: Array<Pick<RolloutTarget, "accountId" | "region">>;
  readonly failures: RolloutFailure[];
}

/**
 * Waves as the table itself holds them, read consistently. The index says when a wave looks
 * done; this confirms it before anything is acted on, because every read of a global secondary index is eventually consistent (DynamoDB developer
 * guide, "Read consistency": "reads from global secondary indexes ... are eventually
 * consistent"), and a target moving from `open#` to `failed#` is two index writes (a removal
 * and an insertion, "Global secondary indexes", write activity). A wave just planned may be
 * missing from the index altogether. The rollout's target items are read once per wave
 * decision: the cost per target stays that of the number of waves, whatever the fleet.
 */
export const readWavesFromTable = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  waveIndexes: readonly number[],
): Promise<Map<number, WaveInTable>> => {
  const waves = new Map<number, WaveInTable>(
    waveIndexes.map((waveIndex) => [waveIndex, { open: [], failures: [] }]),
  );
  // One pass over the rollout's target items for every wave asked about (a filter is applied
  // after the read: each wave read apart would read every target again).
  const wanted = [...waves.keys()];
  if (wanted.length === 0) return waves;
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :targets)",
      FilterExpression: `waveIndex IN (${wanted.map((_, index) => `:wave${index}`).join(", ")})`,
      ExpressionAttributeValues: {
        ":pk": `ROLLOUT#${rolloutId}`,
        ":targets": "TARGET#",
        ...Object.fromEntries(wanted.map((waveIndex, index) => [`:wave${index}`, waveIndex])),
      },
      ProjectionExpression: "accountId, #region, waveIndex, progress, failure",
      ExpressionAttributeNames: { "#region": "region" },
      ConsistentRead: true,
    },
  )) {
    for (const item of page.Items ?? []) {
      const wave = waves.get(Number(item.waveIndex));
      if (!wave) continue;
      const progress = String(item.progress ?? "");
      if (progress.startsWith("open#"))
        wave.open.push({ accountId: String(item.accountId), region: String(item.region) });
      else if (progress.startsWith("failed#") && item.failure)
        wave.failures.push(item.failure as RolloutFailure);
    }
  }
  return waves;
};

/** The facts a decision needs, from the index and the rollout record: a few items at most. */
export const factsFromIndex = async (
  db: DynamoDBDocumentClient,
  table: string,
  record: RolloutRecord,
): Promise<WaveFacts> => {
  const current = record.dispatchedWave;
  const [failures, running] = await Promise.all([
    rolloutFailures(db, table, record.rolloutId),
    current >= 0 ? waveHasOpenTargets(db, table, record.rolloutId, current) : false,
  ]);
  const next = (record.waveTargets ?? []).findIndex(
    (count, waveIndex) => waveIndex > current && count > 0,
  );
  const finishedAt = record.waveFinishedAt?.[String(current)];
  return {
    failures,
    running,
    ...(finishedAt ? { finishedAt } : {}),
    ...(next >= 0 ? { nextWave: next } : {}),
  };
};
