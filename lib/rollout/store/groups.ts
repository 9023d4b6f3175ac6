import {
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { writeIf } from "../../aws/dynamodb.ts";
import type { RolloutTarget } from "../plan.ts";
import { setFields } from "./expressions.ts";
import { checkItem, type ShapeOf } from "./item-check.ts";
import { groupKey, groupPrefix, rolloutPk } from "./keys.ts";
import { indexRefresh } from "./refresh-index.ts";

/**
 * Group records, one per Auto Scaling group of a target (`pk ROLLOUT#<id>`, `sk
 * GROUP#<account>#<region>#<group>`): roll-out-target writes its view (versions, the refresh it
 * started), watch-rollouts moves the refresh's outcome forward, settle and rollback record what
 * they did once it ended.
 */

type Where = Pick<RolloutTarget, "accountId" | "region">;

export const GROUP_STATUSES = [
  /** About to be pinned (if it follows `$Latest`/`$Default`) and refreshed: a crash may follow. */
  "starting",
  "refresh-started",
  "up-to-date",
  "waiting",
  "failed",
  /** Outcomes of the refresh, as watch-rollouts learns them. */
  "succeeded",
  "rolled-back",
  "cancelled",
  /** A rollback refresh to the previous version was started. */
  "rollback-started",
] as const;

export type GroupStatus = (typeof GROUP_STATUSES)[number];

/** Instance refresh statuses after which the refresh will not change any more. */
export const TERMINAL_REFRESH_STATUSES = [
  "Successful",
  "Failed",
  "Cancelled",
  "RollbackSuccessful",
  "RollbackFailed",
] as const;

export interface GroupRecord {
  readonly group: string;
  readonly accountId: string;
  readonly region: string;
  readonly status: GroupStatus;
  readonly launchTemplateId?: string;
  /** The explicit version the group used before: what a rollback returns to. */
  readonly previousVersion?: number;
  readonly newVersion?: number;
  readonly instanceRefreshId?: string;
  /** The refresh's own status in AWS (Pending, InProgress, Successful, ...). */
  readonly refreshStatus?: string;
  readonly percentageComplete?: number;
  readonly finishedAt?: string;
  readonly rollbackRefreshId?: string;
  /** Set when the group got its one extra refresh for a grant that had not propagated yet. */
  readonly grantRetried?: boolean;
  /**
   * The group followed `$Latest`/`$Default` and was pinned to `previousVersion` for its refresh
   * (auto-rollback needs a numbered version); pointed back at it once the refresh succeeded.
   */
  readonly follows?: "$Latest" | "$Default";
  /** Set once the group follows `follows` again, or why it stays pinned. */
  readonly settled?: string;
  /** `<refresh id>: <reason>` of the failed refresh retried once for a slow grant. */
  readonly previousFailure?: string;
  /** That failed refresh's id: never adopted as the retry's own refresh. */
  readonly previousRefreshId?: string;
  /**
   * `group-update`: the group was pointed at the new version, then refreshed without a desired
   * configuration (attribute-based instance types), so AWS cannot roll it back: we do.
   */
  readonly rolledBy?: "group-update";
  /** When the group was about to be pointed at the new version: its refresh is one started since. */
  readonly groupUpdatedAt?: string;
  /** Set once UpdateAutoScalingGroup pointed the group at the new version: a rollback undoes it. */
  readonly groupUpdated?: boolean;
  /** When our own rollback of such a group was about to start: its refresh is one started since. */
  readonly rollbackStartedAt?: string;
  /** Override AMIs replaced by the new one (old → new): what a rollback puts back. */
  readonly overrideImages?: Readonly<Record<string, string>>;
  readonly reason?: string;
  readonly updatedAt: string;
}

/** A group record as stored: with the rollout it belongs to. */
export type StoredGroupRecord = GroupRecord & { readonly rolloutId: string };

// --- What a stored group item must hold -------------------------------------------------------

const optional = z.exactOptional;

const groupObject = z.looseObject({
  group: z.string(),
  accountId: z.string(),
  region: z.string(),
  status: z.enum(GROUP_STATUSES),
  launchTemplateId: optional(z.string()),
  previousVersion: optional(z.number()),
  newVersion: optional(z.number()),
  instanceRefreshId: optional(z.string()),
  refreshStatus: optional(z.string()),
  percentageComplete: optional(z.number()),
  finishedAt: optional(z.string()),
  rollbackRefreshId: optional(z.string()),
  grantRetried: optional(z.boolean()),
  follows: optional(z.enum(["$Latest", "$Default"])),
  settled: optional(z.string()),
  previousFailure: optional(z.string()),
  previousRefreshId: optional(z.string()),
  rolledBy: optional(z.literal("group-update")),
  groupUpdatedAt: optional(z.string()),
  groupUpdated: optional(z.boolean()),
  rollbackStartedAt: optional(z.string()),
  overrideImages: optional(z.record(z.string(), z.string())),
  reason: optional(z.string()),
  updatedAt: z.string(),
} satisfies ShapeOf<GroupRecord>);

export const groupSchema: z.ZodMiniType<StoredGroupRecord> = z.extend(groupObject, {
  rolloutId: z.string(),
});

export const checkGroup = (item: Record<string, unknown>): StoredGroupRecord => {
  const group = checkItem("group", groupSchema, item);
  // A group reset for a retry before `previousRefreshId` was recorded names that refresh only in
  // `previousFailure`, as `<refresh id>: <reason>` (resetGroupForRetry).
  if (group.previousFailure === undefined || group.previousRefreshId !== undefined) return group;
  const [previousRefreshId = ""] = group.previousFailure.split(":");
  return previousRefreshId ? { ...group, previousRefreshId } : group;
};

// --- Reads and writes -------------------------------------------------------------------------

/** Every group record of one target, in one paginated query. */
export const listGroups = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  target: Where,
): Promise<GroupRecord[]> => {
  const records: GroupRecord[] = [];
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": rolloutPk(rolloutId), ":prefix": groupPrefix(target) },
      ConsistentRead: true,
    },
  )) {
    records.push(...(page.Items ?? []).map(checkGroup));
  }
  return records;
};

/**
 * Writes roll-out-target's view of a group. Never over a record watch-rollouts already moved on
 * (it knows the refresh's outcome); a started refresh is also indexed by its id, so its events
 * find their way back to this group.
 */
export const putGroup = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  record: GroupRecord,
): Promise<void> => {
  if (record.instanceRefreshId) {
    await indexRefresh(db, table, rolloutId, {
      ...record,
      instanceRefreshId: record.instanceRefreshId,
    });
  }
  await writeIf(
    db,
    new PutCommand({
      TableName: table,
      Item: { ...groupKey(rolloutId, record, record.group), type: "group", rolloutId, ...record },
      ConditionExpression: "attribute_not_exists(refreshStatus)",
    }),
  );
};

type GroupRef = Pick<GroupRecord, "group" | "accountId" | "region">;

export interface RefreshUpdate {
  readonly refreshStatus: string;
  readonly status: GroupStatus;
  readonly statusReason?: string;
  readonly percentageComplete?: number;
  readonly finishedAt?: string;
}

/**
 * Records what AWS says of a group's refresh, only moving forward: never once the refresh is
 * terminal, and only for the refresh the record names. An event and a poll reporting the same
 * outcome, in any order or concurrently, leave one result; returns false when nothing changed.
 */
export const updateGroupRefresh = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: GroupRef & Pick<GroupRecord, "instanceRefreshId">,
  update: RefreshUpdate,
  now: string,
): Promise<boolean> => {
  const set = setFields({
    refreshStatus: update.refreshStatus,
    status: update.status,
    reason: update.statusReason,
    percentageComplete: update.percentageComplete,
    finishedAt: update.finishedAt,
    updatedAt: now,
  });
  return writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression: set.UpdateExpression,
      ConditionExpression: `instanceRefreshId = :id AND (attribute_not_exists(refreshStatus) OR NOT refreshStatus IN (${TERMINAL_REFRESH_STATUSES.map((_, index) => `:t${index}`).join(", ")}))`,
      ExpressionAttributeNames: set.ExpressionAttributeNames,
      ExpressionAttributeValues: {
        ...set.ExpressionAttributeValues,
        ...Object.fromEntries(
          TERMINAL_REFRESH_STATUSES.map((status, index) => [`:t${index}`, status]),
        ),
        ":id": group.instanceRefreshId,
      },
    }),
  );
};

/**
 * Puts a group whose refresh failed back to "waiting" for one more attempt: its refresh fields
 * are cleared so roll-out-target records the new refresh. Only once (`grantRetried`), and only
 * from the failed refresh recorded, so two watchers seeing the failure reset it once.
 */
export const resetGroupForRetry = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: GroupRef & Pick<GroupRecord, "instanceRefreshId" | "reason">,
  now: string,
): Promise<boolean> => {
  return writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression:
        "SET #status = :waiting, grantRetried = :true, previousFailure = :failure, previousRefreshId = :id, updatedAt = :now REMOVE refreshStatus, instanceRefreshId, finishedAt, percentageComplete, settled",
      ConditionExpression: "instanceRefreshId = :id AND attribute_not_exists(grantRetried)",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: {
        ":waiting": "waiting",
        ":true": true,
        ":failure": `${group.instanceRefreshId}: ${group.reason ?? ""}`,
        ":now": now,
        ":id": group.instanceRefreshId,
      },
    }),
  );
};

/** Records what was done once the group's refresh ended (lib/rollout/settle.ts). */
export const markGroupSettled = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: GroupRef,
  outcome: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression: "SET settled = :settled",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":settled": outcome },
    }),
  );
};

/** The moment our own rollback of a group was first attempted (before its calls). */
export const markGroupRollbackStarting = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: GroupRef,
  startedAt: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression: "SET rollbackStartedAt = if_not_exists(rollbackStartedAt, :at)",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":at": startedAt },
    }),
  );
};

/** Our own rollback refresh of a group AWS could not roll back (rolled by updating it first). */
export const markGroupRollbackStarted = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: GroupRef,
  rollbackRefreshId: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression: "SET #status = :status, rollbackRefreshId = :id",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: { ":status": "rollback-started", ":id": rollbackRefreshId },
    }),
  );
};

/** An operator's rollback of the group (lib/rollout/rollback.ts) started this refresh. */
export const markGroupRolledBackByOperator = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: GroupRef,
  rollbackRefreshId: string,
  at: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression: "SET #status = :status, rollbackRefreshId = :id, updatedAt = :now",
      ExpressionAttributeNames: { "#status": "status" },
      ExpressionAttributeValues: {
        ":status": "rollback-started",
        ":id": rollbackRefreshId,
        ":now": at,
      },
    }),
  );
};

/** The group operations of one table (`createRolloutStore`). */
export const groupOperations = (db: DynamoDBDocumentClient, table: string) => ({
  list: (rolloutId: string, target: Where) => listGroups(db, table, rolloutId, target),
  put: (rolloutId: string, record: GroupRecord) => putGroup(db, table, rolloutId, record),
  updateRefresh: (
    rolloutId: string,
    group: GroupRef & Pick<GroupRecord, "instanceRefreshId">,
    update: RefreshUpdate,
    now: string,
  ) => updateGroupRefresh(db, table, rolloutId, group, update, now),
  resetForRetry: (
    rolloutId: string,
    group: GroupRef & Pick<GroupRecord, "instanceRefreshId" | "reason">,
    now: string,
  ) => resetGroupForRetry(db, table, rolloutId, group, now),
  markSettled: (rolloutId: string, group: GroupRef, outcome: string) =>
    markGroupSettled(db, table, rolloutId, group, outcome),
  markRollbackStarting: (rolloutId: string, group: GroupRef, startedAt: string) =>
    markGroupRollbackStarting(db, table, rolloutId, group, startedAt),
  markRollbackStarted: (rolloutId: string, group: GroupRef, rollbackRefreshId: string) =>
    markGroupRollbackStarted(db, table, rolloutId, group, rollbackRefreshId),
  markRolledBackByOperator: (
    rolloutId: string,
    group: GroupRef,
    rollbackRefreshId: string,
    at: string,
  ) => markGroupRolledBackByOperator(db, table, rolloutId, group, rollbackRefreshId, at),
});
