import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import { writeIf } from "../aws/dynamodb.ts";
import { OrchestratorError, UnknownNameError } from "../errors.ts";

import { cutReason } from "../events/image-state.ts";
import type { RolloutLineage } from "./lineage.ts";
import { summariseMismatches, writeMismatchPages } from "./mismatches.ts";
import {
  type RolloutFailure,
  type RolloutPlan,
  type RolloutTarget,
  rolloutNameOf,
} from "./plan.ts";

/**
 * Rollout state in the single DynamoDB table:
 *   pk ROLLOUT#<id>  sk META                         the rollout: image, waves dispatched, mismatches
 *   pk ROLLOUT#<id>  sk TARGET#<account>#<region>    one per target, its steps as they complete
 *   pk ROLLOUT#<id>  sk GROUP#<account>#<region>#<asg> one per Auto Scaling group: versions, refresh
 *   pk ROLLOUT#<id>  sk MISMATCH#<kind>#<page>       a long mismatch list, in pages (mismatches.ts)
 *   pk GRANT#<name>  sk META                         when a KMS grant (its GrantId) was first seen (propagation)
 *   pk REFRESH#<account>#<region>#<refresh id>  sk META    which rollout and group a refresh belongs to
 *   pk ACTIVE        sk ROLLOUT#<id>                  rollouts not finished yet (what the poll visits)
 *   pk PIPELINE#<name>  sk IMAGE#<version>#<build>#<id>  a pipeline's rollouts, by image version
 * A rollout's id is its image's ARN (unique per account and region); `name` is its readable
 * `<recipe>/<version>/<build>`.
 * Conditional writes make a duplicate or replayed notification create nothing new.
 */

export const rolloutKey = (rolloutId: string) => ({ pk: `ROLLOUT#${rolloutId}`, sk: "META" });
export const targetKey = (
  rolloutId: string,
  target: Pick<RolloutTarget, "accountId" | "region">,
) => ({
  pk: `ROLLOUT#${rolloutId}`,
  sk: `TARGET#${target.accountId}#${target.region}`,
});

export type RolloutStatus = "in-progress" | "succeeded" | "failed" | "superseded" | "rolled-back";

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
  /** Per wave index, when its last target finished: the wave's bake starts there. */
  readonly waveFinishedAt?: Readonly<Record<string, string>>;
  /** How many targets each wave has, by wave index (waves without targets: 0). */
  readonly waveTargets?: readonly number[];
  /** Length of each whole list (absent on records written before the lists were paged). */
  readonly targetsWithoutAmiCount?: number;
  readonly amisWithoutTargetCount?: number;
  /** Commit → recipe → image → AMIs per region, from GetImage at intake (lineage.ts; bounded). */
  readonly lineage?: RolloutLineage;
}

/** `SET #f0 = :v0, ...` for the fields that are defined, with their names and values. */
const setFields = (fields: Record<string, unknown>) => {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  return {
    UpdateExpression: `SET ${entries.map((_, index) => `#f${index} = :v${index}`).join(", ")}`,
    ExpressionAttributeNames: Object.fromEntries(
      entries.map(([name], index) => [`#f${index}`, name]),
    ),
    ExpressionAttributeValues: Object.fromEntries(
      entries.map(([, value], index) => [`:v${index}`, value]),
    ) as Record<string, unknown>,
  };
};

const putIfAbsent = async (
  db: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
): Promise<boolean> => {
  return writeIf(
    db,
    new PutCommand({
      TableName: table,
      Item: item,
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
};

/**
 * Records the rollout, only if it does not exist yet. Targets are written first and the rollout
 * record last, each only if absent: a crash in between leaves no record, so the redelivered
 * notification writes the rest; once the record exists, a duplicate costs one read and writes
 * nothing. (One transaction would be neater, but targets can exceed its 100 items.)
 */
/**
 * Writes in flight at once when a rollout is planned: far below what one partition key takes
 * (1,000 write units per second, DynamoDB developer guide, bp-partition-key-design) and what the
 * SDK's connection pool keeps open (50 sockets by default).
 */
const WRITE_CONCURRENCY = 16;

export const padWave = (waveIndex: number): string => String(waveIndex).padStart(4, "0");

/** A target's key in the `progress` index while it runs (lib/rollout/wave-progress.ts). */
export const openProgress = (target: Pick<RolloutTarget, "waveIndex" | "accountId" | "region">) =>
  `open#${padWave(target.waveIndex)}#${target.accountId}#${target.region}`;

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
    waveFinishedAt: {},
    ...(plan.lineage ? { lineage: plan.lineage } : {}),
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
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        pk: "ACTIVE",
        sk: `ROLLOUT#${plan.rolloutId}`,
        type: "index",
        rolloutId: plan.rolloutId,
        name: record.name,
        pipeline: plan.pipeline,
        createdAt: now,
      },
    }),
  );
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
  return item as RolloutRecord | undefined;
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

// --- per-target step records (roll-out-target) -------------------------------------------------

export type TargetStatus =
  | "pending"
  | "in-progress"
  | "waiting-for-grants"
  | "waiting-for-refresh"
  /** Every group's instance refresh was started (watch-rollouts follows them). */
  | "refreshing"
  /** Nothing to replace: no group, or every group already runs the AMI. */
  | "up-to-date"
  | "partially-failed"
  | "failed"
  /** The rollout ended (superseded, failed, rolled back) before this target was rolled. */
  | "cancelled";

/** Statuses after which roll-out-target has nothing left to do for the target. */
export const FINISHED_TARGET_STATUSES: ReadonlySet<TargetStatus> = new Set([
  "refreshing",
  "up-to-date",
  "partially-failed",
  "failed",
  "cancelled",
]);

export interface GrantRecord {
  readonly keyArn: string;
  readonly granteePrincipal: string;
  readonly grantName: string;
  readonly grantId: string;
}

/**
 * One launch template of a target. The version the groups run (`sourceVersion`) is saved before
 * any version is created: resolved again after a crash, `$Latest`/`$Default` could name our own
 * new version, and the group would look up to date without being refreshed.
 */
export interface TemplateRecord {
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  readonly sourceVersion: number;
  /** The AMI the source version launches. */
  readonly sourceImageId?: string;
  /** The version that launches the new AMI, once created (or the source, if it already did). */
  readonly versionNumber?: number;
  readonly created?: boolean;
}

export interface TargetRecord extends RolloutTarget {
  readonly rolloutId: string;
  readonly status: TargetStatus;
  readonly startedAt?: string;
  readonly updatedAt?: string;
  readonly keyArns?: readonly string[];
  readonly grants?: readonly GrantRecord[];
  /** Until then a new grant may not be usable by Auto Scaling yet: refreshes wait. */
  readonly grantsReadyAt?: string;
  /** By the group's template reference (`<id or name>@<version>`). */
  readonly templates?: Readonly<Record<string, TemplateRecord>>;
  readonly unsupportedGroups?: ReadonlyArray<{ name: string; reason: string }>;
  readonly missingGroups?: readonly string[];
  readonly reason?: string;
  /** Its key in the `progress` index while it runs or once it failed; removed once it succeeded. */
  readonly progress?: string;
  readonly outcome?: "succeeded" | "failed";
  /** Its first failure, for the rollout's alert (bounded). */
  readonly failure?: RolloutFailure;
}

export type GroupStatus =
  /** About to be pinned (if it follows `$Latest`/`$Default`) and refreshed: a crash may follow. */
  | "starting"
  | "refresh-started"
  | "up-to-date"
  | "waiting"
  | "failed"
  /** Outcomes of the refresh, as watch-rollouts learns them. */
  | "succeeded"
  | "rolled-back"
  | "cancelled"
  /** A rollback refresh to the previous version was started. */
  | "rollback-started";

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

export const groupKey = (
  rolloutId: string,
  target: Pick<RolloutTarget, "accountId" | "region">,
  group: string,
) => ({ pk: `ROLLOUT#${rolloutId}`, sk: `GROUP#${target.accountId}#${target.region}#${group}` });

export const getTarget = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  target: Pick<RolloutTarget, "accountId" | "region">,
): Promise<TargetRecord | undefined> => {
  const { Item: item } = await db.send(
    new GetCommand({
      TableName: table,
      Key: targetKey(rolloutId, target),
      ConsistentRead: true,
    }),
  );
  return item as TargetRecord | undefined;
};

type TargetUpdate = Partial<Omit<TargetRecord, keyof RolloutTarget | "rolloutId" | "updatedAt">>;

/** Sets the given fields on an existing target record (never creates one). */
export const updateTarget = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  target: Pick<RolloutTarget, "accountId" | "region">,
  fields: TargetUpdate,
  now: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: targetKey(rolloutId, target),
      ConditionExpression: "attribute_exists(pk)",
      ...setFields({ ...fields, updatedAt: now }),
    }),
  );
};

/** Every group record of one target, in one paginated query. */
export const listGroups = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  target: Pick<RolloutTarget, "accountId" | "region">,
): Promise<GroupRecord[]> => {
  const records: GroupRecord[] = [];
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: {
        ":pk": `ROLLOUT#${rolloutId}`,
        ":prefix": `GROUP#${target.accountId}#${target.region}#`,
      },
      ConsistentRead: true,
    },
  )) {
    records.push(...((page.Items ?? []) as GroupRecord[]));
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
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...refreshKey(record.accountId, record.region, record.instanceRefreshId),
          type: "refresh",
          rolloutId,
          group: record.group,
          accountId: record.accountId,
          region: record.region,
        },
      }),
    );
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

export const refreshKey = (accountId: string, region: string, refreshId: string) => ({
  pk: `REFRESH#${accountId}#${region}#${refreshId}`,
  sk: "META",
});

/** Which rollout and group an instance refresh belongs to, if it is one of ours. */
export const findRefresh = async (
  db: DynamoDBDocumentClient,
  table: string,
  accountId: string,
  region: string,
  refreshId: string,
): Promise<{ rolloutId: string; group: string } | undefined> => {
  const { Item: item } = await db.send(
    new GetCommand({ TableName: table, Key: refreshKey(accountId, region, refreshId) }),
  );
  return item ? { rolloutId: String(item.rolloutId), group: String(item.group) } : undefined;
};

/**
 * Records what AWS says of a group's refresh, only moving forward: never once the refresh is
 * terminal, and only for the refresh the record names. An event and a poll reporting the same
 * outcome, in any order or concurrently, leave one result; returns false when nothing changed.
 */
export const updateGroupRefresh = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: Pick<GroupRecord, "group" | "accountId" | "region" | "instanceRefreshId">,
  update: {
    refreshStatus: string;
    status: GroupStatus;
    statusReason?: string;
    percentageComplete?: number;
    finishedAt?: string;
  },
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

export interface RolloutState {
  readonly record: RolloutRecord;
  readonly targets: TargetRecord[];
  readonly groups: Array<GroupRecord & { rolloutId: string }>;
}

/**
 * The rollout record with ONE of its targets and that target's groups: what an event about that
 * target needs, a constant number of items whatever the fleet.
 */
export const loadTargetState = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  where: Pick<RolloutTarget, "accountId" | "region">,
): Promise<RolloutState | undefined> => {
  const [record, target, groups] = await Promise.all([
    getRollout(db, table, rolloutId),
    getTarget(db, table, rolloutId, where),
    listGroups(db, table, rolloutId, where),
  ]);
  if (!record || !target) return undefined;
  return { record, targets: [target], groups: groups.map((group) => ({ ...group, rolloutId })) };
};

/** The rollout with all its targets and groups, in one (paginated, consistent) query. */
export const loadRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
): Promise<RolloutState | undefined> => {
  let record: RolloutRecord | undefined;
  const targets: TargetRecord[] = [];
  const groups: Array<GroupRecord & { rolloutId: string }> = [];
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": `ROLLOUT#${rolloutId}` },
      ConsistentRead: true,
    },
  )) {
    for (const item of page.Items ?? []) {
      if (item.sk === "META") record = item as RolloutRecord;
      else if (String(item.sk).startsWith("TARGET#")) targets.push(item as TargetRecord);
      else if (String(item.sk).startsWith("GROUP#"))
        groups.push(item as GroupRecord & { rolloutId: string });
    }
  }
  return record ? { record, targets, groups } : undefined;
};

/** Ids of rollouts not finished yet, optionally of one pipeline. */
export const listActiveRollouts = async (
  db: DynamoDBDocumentClient,
  table: string,
  pipeline?: string,
): Promise<
  Array<{ rolloutId: string; pipeline: string; createdAt: string; pollCursor?: string }>
> => {
  const active: Array<{
    rolloutId: string;
    pipeline: string;
    createdAt: string;
    pollCursor?: string;
  }> = [];
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": "ACTIVE" },
    },
  )) {
    for (const item of page.Items ?? []) {
      if (pipeline && item.pipeline !== pipeline) continue;
      active.push({
        rolloutId: String(item.rolloutId),
        pipeline: String(item.pipeline),
        createdAt: String(item.createdAt),
        ...(item.pollCursor ? { pollCursor: String(item.pollCursor) } : {}),
      });
    }
  }
  return active.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
};

/** Where the next poll of the rollout starts reading refreshes (none: from the start). */
export const savePollCursor = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  cursor: string | undefined,
): Promise<void> => {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: "ACTIVE", sk: `ROLLOUT#${rolloutId}` },
        ...(cursor
          ? {
              UpdateExpression: "SET pollCursor = :cursor",
              ExpressionAttributeValues: { ":cursor": cursor },
            }
          : { UpdateExpression: "REMOVE pollCursor" }),
        ConditionExpression: "attribute_exists(pk)",
      }),
    );
  } catch (error) {
    // The rollout left the active list meanwhile: no cursor to keep.
    if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
  }
};

const PIPELINE_INDEX_PREFIX = "IMAGE#";

/**
 * Sorts as the image's version does: semantic version, then build number, each zero-padded
 * (`1.10.0/2` after `1.9.0/7`), never by arrival time.
 */
export const imageVersionSortKey = (imageArn: string): string => {
  const [version = "", build = ""] = (imageArn.split(":image/")[1] ?? "").split("/").slice(-2);
  const numbers = [...version.split("."), build].map((part) =>
    (part.match(/\d+/)?.[0] ?? "0").padStart(10, "0"),
  );
  return `${PIPELINE_INDEX_PREFIX}${numbers.slice(0, 3).join(".")}#${numbers[3]}#${imageArn}`;
};

/**
 * Adds a rollout to its pipeline's index, which approve and rollback read to find "the latest".
 * Called only for an image that is not stale (an older image arriving after a newer one is never
 * indexed); idempotent.
 */
export const indexPipelineRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rollout: Pick<RolloutRecord, "rolloutId" | "name" | "pipeline" | "createdAt">,
): Promise<void> => {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        pk: `PIPELINE#${rollout.pipeline}`,
        sk: imageVersionSortKey(rollout.rolloutId),
        type: "index",
        rolloutId: rollout.rolloutId,
        ...(rollout.name ? { name: rollout.name } : {}),
        pipeline: rollout.pipeline,
        createdAt: rollout.createdAt,
      },
    }),
  );
};

/** A pipeline's rollouts with the newest images first (by version, then build number). */
export const latestRollouts = async (
  db: DynamoDBDocumentClient,
  table: string,
  pipeline: string,
  limit = 5,
): Promise<string[]> => {
  const { Items: items = [] } = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: {
        ":pk": `PIPELINE#${pipeline}`,
        ":prefix": PIPELINE_INDEX_PREFIX,
      },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return items.map((item) => String(item.rolloutId));
};

/**
 * The rollout an operator means: its id (the image ARN) as is, or its readable name
 * (`<recipe>/<version>/<build>`, what status and alerts show), looked up among the pipeline's
 * rollouts when one is named, else among unfinished ones. A name two rollouts share (two pipelines
 * whose recipes share a name) is refused with both ids, rather than guessed.
 */
export const resolveRolloutId = async (
  db: DynamoDBDocumentClient,
  table: string,
  reference: string,
  pipeline?: string,
): Promise<string | undefined> => {
  if (reference.startsWith("arn:")) return reference;
  const matches = new Set<string>();
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pipeline ? `PIPELINE#${pipeline}` : "ACTIVE" },
    },
  )) {
    for (const item of page.Items ?? []) {
      if (item.name === reference || item.rolloutId === reference)
        matches.add(String(item.rolloutId));
    }
  }
  if (matches.size > 1) {
    throw new UnknownNameError(
      `rollout name "${reference}" is ambiguous: use one of ${[...matches].join(", ")}`,
    );
  }
  return [...matches][0];
};

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
  status: Exclude<RolloutStatus, "in-progress">,
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

/**
 * Puts a group whose refresh failed back to "waiting" for one more attempt: its refresh fields
 * are cleared so roll-out-target records the new refresh. Only once (`grantRetried`), and only
 * from the failed refresh recorded, so two watchers seeing the failure reset it once.
 */
export const resetGroupForRetry = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: Pick<GroupRecord, "group" | "accountId" | "region" | "instanceRefreshId" | "reason">,
  now: string,
): Promise<boolean> => {
  return writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: groupKey(rolloutId, group, group.group),
      UpdateExpression:
        "SET #status = :waiting, grantRetried = :true, previousFailure = :failure, updatedAt = :now REMOVE refreshStatus, instanceRefreshId, finishedAt, percentageComplete, settled",
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
  group: Pick<GroupRecord, "group" | "accountId" | "region">,
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
  group: Pick<GroupRecord, "group" | "accountId" | "region">,
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
  group: Pick<GroupRecord, "group" | "accountId" | "region">,
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

/** Drops an ended rollout, whose refreshes have all ended, from what the poll visits. */
export const deactivateRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
): Promise<void> => {
  await db.send(
    new DeleteCommand({ TableName: table, Key: { pk: "ACTIVE", sk: `ROLLOUT#${rolloutId}` } }),
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

/**
 * Notes a grant as seen and returns when it was first seen. A grant first seen now was (most
 * likely) just created and may take minutes to be usable; one seen by an earlier rollout is long
 * usable, so its refreshes need not wait. Seen means this name with this GrantId: a grant revoked
 * or retired, then created again under the same name, is a new grant with a new id (KMS API
 * reference, CreateGrant `Name`: the original GrantId comes back only "if the grant already
 * exists"), and it "might not be effective immediately" (KMS developer guide, using-grant-token).
 */
export const registerGrant = async (
  db: DynamoDBDocumentClient,
  table: string,
  grant: GrantRecord,
  now: string,
): Promise<string> => {
  const key = { pk: `GRANT#${grant.grantName}`, sk: "META" };
  const values = {
    ":now": now,
    ":type": "grant",
    ":key": grant.keyArn,
    ":grantee": grant.granteePrincipal,
    ":id": grant.grantId,
  };
  try {
    const { Attributes: attributes } = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: key,
        UpdateExpression:
          "SET firstSeenAt = if_not_exists(firstSeenAt, :now), #type = :type, keyArn = :key, granteePrincipal = :grantee, grantId = :id",
        ConditionExpression: "attribute_not_exists(grantId) OR grantId = :id",
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return String(attributes?.firstSeenAt ?? now);
  } catch (error) {
    if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
  }
  // Another id under this name: the grant was created anew, and its propagation starts now.
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: key,
      UpdateExpression:
        "SET firstSeenAt = :now, #type = :type, keyArn = :key, granteePrincipal = :grantee, grantId = :id",
      ExpressionAttributeNames: { "#type": "type" },
      ExpressionAttributeValues: values,
    }),
  );
  return now;
};
