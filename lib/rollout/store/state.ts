import { type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import type { RolloutTarget } from "../plan.ts";
import { checkGroup, listGroups, type StoredGroupRecord } from "./groups.ts";
import { rolloutPk } from "./keys.ts";
import { checkRollout, getRollout, type RolloutRecord } from "./rollouts.ts";
import { checkTarget, getTarget, type TargetRecord } from "./targets.ts";

/**
 * A rollout read together: its record with all its targets and groups (a rollout planned before
 * the progress index, status of a small rollout), or with one target and its groups (what an
 * event about that target needs).
 */

export interface RolloutState {
  readonly record: RolloutRecord;
  readonly targets: TargetRecord[];
  readonly groups: StoredGroupRecord[];
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
  const groups: StoredGroupRecord[] = [];
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": rolloutPk(rolloutId) },
      ConsistentRead: true,
    },
  )) {
    for (const item of page.Items ?? []) {
      if (item.sk === "META") record = checkRollout(item);
      else if (String(item.sk).startsWith("TARGET#")) targets.push(checkTarget(item));
      else if (String(item.sk).startsWith("GROUP#")) groups.push(checkGroup(item));
    }
  }
  return record ? { record, targets, groups } : undefined;
};

/** The operations on a rollout read together (`createRolloutStore`). */
export const stateOperations = (db: DynamoDBDocumentClient, table: string) => ({
  load: (rolloutId: string) => loadRollout(db, table, rolloutId),
  loadTarget: (rolloutId: string, where: Pick<RolloutTarget, "accountId" | "region">) =>
    loadTargetState(db, table, rolloutId, where),
});
