import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import * as z from "zod/mini";
import { writeIf } from "../../aws/dynamodb.ts";
import { OrchestratorError } from "../../errors.ts";
import { cutReason } from "../../events/image-state.ts";
import type { RegionAmis, RolloutLineage } from "../lineage.ts";
import { summariseMismatches, writeMismatchPages } from "../mismatches.ts";
import { type RolloutPlan, rolloutNameOf } from "../plan.ts";
import { activateRollout } from "./active.ts";
import { putIfAbsent } from "./expressions.ts";
import { checkItem, type ShapeOf } from "./item-check.ts";
import { openProgress, rolloutKey, targetKey } from "./keys.ts";

/**
 * The rollout record (`pk ROLLOUT#<id>`, `sk META`): the image, its waves and how far they got,
 * approvals, the outcome, and a sample of its distribution mismatches.
 */

export const ROLLOUT_STATUSES = [
  "in-progress",
  "succeeded",
  "failed",
  "superseded",
  "rolled-back",
] as const;

export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export interface RolloutRecord {
  /** The image build-version ARN. */
  readonly rolloutId: string;
  /** `<recipe>/<version>/<build>`, what people read and type (absent on records before it). */
  readonly name?: string;
  readonly status: RolloutStatus;
  /** When each wave was approved (manual-approval waves), by wave index. */
  readonly approvals: Readonly<Record<string, string>>;
  readonly reason?: string;
  readonly supersededBy?: string;
  readonly finishedAt?: string;
  /** Claim on dispatching the next wave, so two watchers racing send it once. */
  readonly waveClaim?: number;
  readonly waveClaimAt?: string;
  readonly pipeline: string;
  readonly imageArn: string;
  readonly createdAt: string;
  /** Index of the last wave whose messages were sent; -1 before any. */
  readonly dispatchedWave: number;
  readonly waveCount: number;
  /** The first MISMATCH_SAMPLE entries; the whole list is in its own items when longer. */
  readonly targetsWithoutAmi: RolloutPlan["targetsWithoutAmi"];
  readonly amisWithoutTarget: RolloutPlan["amisWithoutTarget"];
  /**
   * Its targets are in the `progress` index (lib/rollout/wave-progress.ts): decisions read that,
   * never the whole rollout. Absent on rollouts planned before it existed.
   */
  readonly progressIndexed?: boolean;
  /** Commit → recipe → image → AMIs per region, from GetImage at intake (lineage.ts; bounded). */
  readonly lineage?: RolloutLineage;
  /** Per wave index, when its last target finished: the wave's bake starts there. */
  readonly waveFinishedAt?: Readonly<Record<string, string>>;
  /** How many targets each wave has, by wave index (waves without targets: 0). */
  readonly waveTargets?: readonly number[];
  /** Length of each whole list (absent on records written before the lists were paged). */
  readonly targetsWithoutAmiCount?: number;
  readonly amisWithoutTargetCount?: number;
}

// --- What a stored rollout item must hold -----------------------------------------------------

const optional = z.exactOptional;

type MissingTarget = RolloutRecord["targetsWithoutAmi"][number];
type UnusedAmi = RolloutRecord["amisWithoutTarget"][number];

export const rolloutSchema: z.ZodMiniType<RolloutRecord> = z.looseObject({
  rolloutId: z.string(),
  name: optional(z.string()),
  status: z.enum(ROLLOUT_STATUSES),
  approvals: z.record(z.string(), z.string()),
  reason: optional(z.string()),
  supersededBy: optional(z.string()),
  finishedAt: optional(z.string()),
  waveClaim: optional(z.number()),
  waveClaimAt: optional(z.string()),
  pipeline: z.string(),
  imageArn: z.string(),
  createdAt: z.string(),
  dispatchedWave: z.number(),
  waveCount: z.number(),
  targetsWithoutAmi: z.array(
    z.looseObject({
      wave: z.string(),
      waveIndex: z.number(),
      account: z.string(),
      accountId: z.string(),
      region: z.string(),
      sharedFrom: optional(z.string()),
    } satisfies ShapeOf<MissingTarget>),
  ),
  amisWithoutTarget: z.array(
    z.looseObject({
      region: z.string(),
      image: z.string(),
      accountId: z.string(),
      name: optional(z.string()),
    } satisfies ShapeOf<UnusedAmi>),
  ),
  progressIndexed: optional(z.boolean()),
  lineage: optional(
    z.looseObject({
      commit: optional(z.string()),
      commitFrom: optional(z.enum(["image", "recipe"])),
      ref: optional(z.string()),
      repository: optional(z.string()),
      inputHash: optional(z.string()),
      recipe: optional(
        z.looseObject({
          arn: z.string(),
          name: optional(z.string()),
          version: optional(z.string()),
        } satisfies ShapeOf<NonNullable<RolloutLineage["recipe"]>>),
      ),
      amis: z.looseObject({
        total: z.number(),
        regions: z.array(
          z.looseObject({
            region: z.string(),
            count: z.number(),
            sample: z.array(z.string()),
          } satisfies ShapeOf<RegionAmis>),
        ),
      } satisfies ShapeOf<RolloutLineage["amis"]>),
    } satisfies ShapeOf<RolloutLineage>),
  ),
  waveFinishedAt: optional(z.record(z.string(), z.string())),
  waveTargets: optional(z.array(z.number())),
  targetsWithoutAmiCount: optional(z.number()),
  amisWithoutTargetCount: optional(z.number()),
} satisfies ShapeOf<RolloutRecord>);

export const checkRollout = (item: Record<string, unknown>): RolloutRecord =>
  checkItem("rollout", rolloutSchema, item);

// --- Reads and writes -------------------------------------------------------------------------

/**
 * Writes in flight at once when a rollout is planned: far below what one partition key takes
 * (1,000 write units per second, DynamoDB developer guide, bp-partition-key-design) and what the
 * SDK's connection pool keeps open (50 sockets by default).
 */
const WRITE_CONCURRENCY = 16;

/**
 * Records the rollout, only if it does not exist yet. Targets are written first and the rollout
 * record last, each only if absent: a crash in between leaves no record, so the redelivered
 * notification writes the rest; once the record exists, a duplicate costs one read and writes
 * nothing. (One transaction would be neater, but targets can exceed its 100 items.)
 */
export const createRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  plan: RolloutPlan,
  now: string,
): Promise<{ created: boolean; record: RolloutRecord }> => {
  const existing = await getRollout(db, table, plan.rolloutId);
  if (existing) return { created: false, record: existing };
  const record: RolloutRecord = {
    rolloutId: plan.rolloutId,
    name: plan.name ?? rolloutNameOf(plan.rolloutId),
    status: "in-progress",
    approvals: {},
    pipeline: plan.pipeline,
    imageArn: plan.imageArn,
    createdAt: now,
    dispatchedWave: -1,
    waveCount: Math.max(0, ...plan.targets.map((target) => target.waveIndex + 1)),
    // Counts and samples only: the whole lists grow with the fleet, and go to their own items.
    ...summariseMismatches(plan),
    progressIndexed: true,
    ...(plan.lineage ? { lineage: plan.lineage } : {}),
    waveFinishedAt: {},
    waveTargets: plan.targets.reduce<number[]>((counts, target) => {
      counts[target.waveIndex] = (counts[target.waveIndex] ?? 0) + 1;
      return Array.from(counts, (count) => count ?? 0);
    }, []),
  };
  await writeMismatchPages(db, table, plan.rolloutId, plan);
  // Side by side, a bounded number at a time: 10,000 targets written one after the other would
  // not finish inside the function's timeout. Each is a conditional put, so a retried
  // notification rewrites nothing roll-out-target already moved on.
  await pMap(
    plan.targets,
    (target) =>
      putIfAbsent(db, table, {
        ...targetKey(plan.rolloutId, target),
        type: "target",
        rolloutId: plan.rolloutId,
        ...target,
        status: "pending",
        progress: openProgress(target),
      }),
    { concurrency: WRITE_CONCURRENCY },
  );
  // The active index first, the record last: once the record exists, the poll can find it. The
  // pipeline's index is written by the caller once it knows the image is not stale
  // (`indexPipelineRollout`).
  await activateRollout(db, table, record, now);
  if (await putIfAbsent(db, table, { ...rolloutKey(plan.rolloutId), type: "rollout", ...record })) {
    return { created: true, record };
  }
  // A concurrent delivery of the same notification got there first.
  const winner = await getRollout(db, table, plan.rolloutId);
  if (!winner)
    throw new OrchestratorError(`rollout ${plan.rolloutId} exists but cannot be read`, {
      retryable: true,
    });
  return { created: false, record: winner };
};

export const getRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
): Promise<RolloutRecord | undefined> => {
  const { Item: item } = await db.send(
    new GetCommand({ TableName: table, Key: rolloutKey(rolloutId), ConsistentRead: true }),
  );
  return item ? checkRollout(item) : undefined;
};

/**
 * Records that wave `waveIndex`'s messages were sent, only ever moving forward. Called after
 * sending (at-least-once: a crash in between re-sends, which roll-out-target tolerates), so a
 * replay once it is recorded sends nothing. Returns false when it was already recorded.
 */
export const markWaveDispatched = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  waveIndex: number,
  now: string,
): Promise<boolean> => {
  return writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: rolloutKey(rolloutId),
      UpdateExpression: "SET dispatchedWave = :wave, dispatchedAt = :now",
      ConditionExpression: "dispatchedWave < :wave",
      ExpressionAttributeValues: { ":wave": waveIndex, ":now": now },
    }),
  );
};

/**
 * Claims the dispatch of wave `waveIndex` after wave `previous`: only one of several racing
 * watchers gets it, and a claim older than `leaseMs` (its holder crashed) can be taken over.
 */
export const claimWave = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  waves: { previous: number; next: number },
  now: number,
  leaseMs = 15 * 60_000,
): Promise<boolean> => {
  const waveIndex = waves.next;
  return writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: rolloutKey(rolloutId),
      UpdateExpression: "SET waveClaim = :wave, waveClaimAt = :now",
      ConditionExpression:
        "#status = :active AND dispatchedWave = :previous AND (attribute_not_exists(waveClaim) OR waveClaim < :wave OR waveClaimAt < :stale)",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: {
        ":wave": waveIndex,
        ":previous": waves.previous,
        ":active": "in-progress",
        ":now": new Date(now).toISOString(),
        ":stale": new Date(now - leaseMs).toISOString(),
      },
    }),
  );
};

/** Records the approval of a manual-approval wave (idempotent: the first approval's time stays). */
export const approveWave = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  waveIndex: number,
  now: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: rolloutKey(rolloutId),
      UpdateExpression: "SET approvals.#wave = if_not_exists(approvals.#wave, :now)",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeNames: { "#wave": String(waveIndex) },
      ExpressionAttributeValues: { ":now": now },
    }),
  );
};

export type FinishedStatus = Exclude<RolloutStatus, "in-progress">;

/**
 * Ends a rollout, only if it is still in progress (the first outcome wins when a failure and a
 * supersession race). It stays in the active index until its last refresh has ended
 * (`deactivateRollout`), so the watcher keeps recording outcomes. Returns false if it was
 * already ended.
 */
export const finishRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  status: FinishedStatus,
  fields: { reason?: string; supersededBy?: string },
  now: string,
  options: { from?: readonly RolloutStatus[] } = {},
): Promise<boolean> => {
  const from = options.from ?? ["in-progress"];
  return writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: rolloutKey(rolloutId),
      UpdateExpression: `SET #status = :status, finishedAt = :now${fields.reason ? ", reason = :reason" : ""}${fields.supersededBy ? ", supersededBy = :by" : ""}`,
      ConditionExpression: `#status IN (${from.map((_, index) => `:from${index}`).join(", ")})`,
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: {
        ":status": status,
        ":now": now,
        // Capped whatever the caller built: the record must not grow with the failures.
        ...(fields.reason ? { ":reason": cutReason(fields.reason) } : {}),
        ...(fields.supersededBy ? { ":by": fields.supersededBy } : {}),
        ...Object.fromEntries(from.map((value, index) => [`:from${index}`, value])),
      },
    }),
  );
};

/** The rollout-record operations of one table (`createRolloutStore`). */
export const rolloutOperations = (db: DynamoDBDocumentClient, table: string) => ({
  create: (plan: RolloutPlan, now: string) => createRollout(db, table, plan, now),
  get: (rolloutId: string) => getRollout(db, table, rolloutId),
  markWaveDispatched: (rolloutId: string, waveIndex: number, now: string) =>
    markWaveDispatched(db, table, rolloutId, waveIndex, now),
  claimWave: (
    rolloutId: string,
    waves: { previous: number; next: number },
    now: number,
    leaseMs?: number,
  ) => claimWave(db, table, rolloutId, waves, now, leaseMs),
  approveWave: (rolloutId: string, waveIndex: number, now: string) =>
    approveWave(db, table, rolloutId, waveIndex, now),
  finish: (
    rolloutId: string,
    status: FinishedStatus,
    fields: { reason?: string; supersededBy?: string },
    now: string,
    options?: { from?: readonly RolloutStatus[] },
  ) => finishRollout(db, table, rolloutId, status, fields, now, options),
});
