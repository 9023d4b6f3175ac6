import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { OrchestratorError } from "../errors.ts";
import type { RolloutPlan, RolloutTarget } from "./plan.ts";

/**
 * Rollout state in the single DynamoDB table:
 *   pk ROLLOUT#<id>  sk META                         the rollout: image, waves dispatched, mismatches
 *   pk ROLLOUT#<id>  sk TARGET#<account>#<region>    one per target, its steps as they complete
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
