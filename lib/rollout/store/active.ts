import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { isConditionFailure } from "../../aws/dynamodb.ts";
import { checkItem, type ShapeOf } from "./item-check.ts";
import { ACTIVE_PK, activeKey } from "./keys.ts";

/**
 * The active list (`pk ACTIVE`, `sk ROLLOUT#<id>`): the rollouts not finished yet, which the poll
 * visits, each with where the poll stopped last time (its cursor).
 */

export interface ActiveRollout {
  readonly rolloutId: string;
  readonly pipeline: string;
  readonly createdAt: string;
  /** Where the next poll of the rollout starts reading refreshes (none: from the start). */
  readonly pollCursor?: string;
}

const activeSchema: z.ZodMiniType<ActiveRollout> = z.looseObject({
  rolloutId: z.string(),
  pipeline: z.string(),
  createdAt: z.string(),
  pollCursor: z.exactOptional(z.string()),
} satisfies ShapeOf<ActiveRollout>);

/** Adds the rollout to the active list (idempotent: a replay writes the same entry). */
export const activateRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rollout: { rolloutId: string; name?: string; pipeline: string },
  now: string,
): Promise<void> => {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        ...activeKey(rollout.rolloutId),
        type: "index",
        rolloutId: rollout.rolloutId,
        name: rollout.name,
        pipeline: rollout.pipeline,
        createdAt: now,
      },
    }),
  );
};

/** Rollouts not finished yet, optionally of one pipeline, the oldest first. */
export const listActiveRollouts = async (
  db: DynamoDBDocumentClient,
  table: string,
  pipeline?: string,
): Promise<ActiveRollout[]> => {
  const active: ActiveRollout[] = [];
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": ACTIVE_PK },
    },
  )) {
    for (const item of page.Items ?? []) {
      if (pipeline && item.pipeline !== pipeline) continue;
      const entry = checkItem("active rollout", activeSchema, item);
      active.push({
        rolloutId: entry.rolloutId,
        pipeline: entry.pipeline,
        createdAt: entry.createdAt,
        ...(entry.pollCursor ? { pollCursor: entry.pollCursor } : {}),
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
        Key: activeKey(rolloutId),
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
    if (!isConditionFailure(error)) throw error;
  }
};

/** Drops an ended rollout, whose refreshes have all ended, from what the poll visits. */
export const deactivateRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
): Promise<void> => {
  await db.send(new DeleteCommand({ TableName: table, Key: activeKey(rolloutId) }));
};

/** The active-list operations of one table (`createRolloutStore`). */
export const activeOperations = (db: DynamoDBDocumentClient, table: string) => ({
  list: (pipeline?: string) => listActiveRollouts(db, table, pipeline),
  savePollCursor: (rolloutId: string, cursor: string | undefined) =>
    savePollCursor(db, table, rolloutId, cursor),
  deactivate: (rolloutId: string) => deactivateRollout(db, table, rolloutId),
});
