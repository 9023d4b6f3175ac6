import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { OrchestratorError } from "../errors.ts";
import type { RolloutPlan, RolloutTarget } from "./plan.ts";

/**
 * Rollout state in the single DynamoDB table:
 *   pk ROLLOUT#<id>  sk META                         the rollout: image, waves dispatched, mismatches
 *   pk ROLLOUT#<id>  sk TARGET#<account>#<region>    one per target, its steps as they complete
 *   pk ROLLOUT#<id>  sk GROUP#<account>#<region>#<asg> one per Auto Scaling group: versions, refresh
 *   pk GRANT#<name>  sk META                         when a KMS grant was first created (propagation)
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

export interface RolloutRecord {
  readonly rolloutId: string;
  readonly pipeline: string;
  readonly imageArn: string;
  readonly createdAt: string;
  /** Index of the last wave whose messages were sent; -1 before any. */
  readonly dispatchedWave: number;
  readonly waveCount: number;
  readonly targetsWithoutAmi: RolloutPlan["targetsWithoutAmi"];
  readonly amisWithoutTarget: RolloutPlan["amisWithoutTarget"];
}

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === "ConditionalCheckFailedException";

const putIfAbsent = async (
  db: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
): Promise<boolean> => {
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: item,
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

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
    pipeline: plan.pipeline,
    imageArn: plan.imageArn,
    createdAt: now,
    dispatchedWave: -1,
    waveCount: Math.max(0, ...plan.targets.map((target) => target.waveIndex + 1)),
    targetsWithoutAmi: plan.targetsWithoutAmi,
    amisWithoutTarget: plan.amisWithoutTarget,
  };
  for (const target of plan.targets) {
    await putIfAbsent(db, table, {
      ...targetKey(plan.rolloutId, target),
      type: "target",
      rolloutId: plan.rolloutId,
      ...target,
      status: "pending",
    });
  }
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
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: rolloutKey(rolloutId),
        UpdateExpression: "SET dispatchedWave = :wave, dispatchedAt = :now",
        ConditionExpression: "dispatchedWave < :wave",
        ExpressionAttributeValues: { ":wave": waveIndex, ":now": now },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
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
  | "failed";

/** Statuses after which roll-out-target has nothing left to do for the target. */
export const FINISHED_TARGET_STATUSES: ReadonlySet<TargetStatus> = new Set([
  "refreshing",
  "up-to-date",
  "partially-failed",
  "failed",
]);

export interface GrantRecord {
  readonly keyArn: string;
  readonly granteePrincipal: string;
  readonly grantName: string;
  readonly grantId: string;
}

export interface TemplateRecord {
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  readonly sourceVersion: number;
  readonly versionNumber: number;
  readonly created: boolean;
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
}

export type GroupStatus = "refresh-started" | "up-to-date" | "waiting" | "failed";

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
  const entries = Object.entries({ ...fields, updatedAt: now }).filter(
    ([, value]) => value !== undefined,
  );
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: targetKey(rolloutId, target),
      UpdateExpression: `SET ${entries.map((_, index) => `#f${index} = :v${index}`).join(", ")}`,
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeNames: Object.fromEntries(
        entries.map(([name], index) => [`#f${index}`, name]),
      ),
      ExpressionAttributeValues: Object.fromEntries(
        entries.map(([, value], index) => [`:v${index}`, value]),
      ),
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

export const putGroup = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  record: GroupRecord,
): Promise<void> => {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: { ...groupKey(rolloutId, record, record.group), type: "group", rolloutId, ...record },
    }),
  );
};

/**
 * Notes a grant name as seen and returns when it was first seen, in one write. A grant first
 * seen now was (most likely) just created and may take minutes to be usable; one seen by an
 * earlier rollout is long usable, so its refreshes need not wait.
 */
export const registerGrant = async (
  db: DynamoDBDocumentClient,
  table: string,
  grant: GrantRecord,
  now: string,
): Promise<string> => {
  const { Attributes: attributes } = await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: `GRANT#${grant.grantName}`, sk: "META" },
      UpdateExpression:
        "SET firstSeenAt = if_not_exists(firstSeenAt, :now), #type = :type, keyArn = :key, granteePrincipal = :grantee, grantId = :id",
      ExpressionAttributeNames: { "#type": "type" },
      ExpressionAttributeValues: {
        ":now": now,
        ":type": "grant",
        ":key": grant.keyArn,
        ":grantee": grant.granteePrincipal,
        ":id": grant.grantId,
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  return String(attributes?.firstSeenAt ?? now);
};
