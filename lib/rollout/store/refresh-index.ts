import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { checkItem } from "./item-check.ts";
import { refreshKey } from "./keys.ts";

/**
 * The refresh index (`pk REFRESH#<account>#<region>#<refresh id>`): which rollout and group an
 * instance refresh belongs to, so an event about a refresh finds its way back to the group
 * without a scan. Written with the group record that started the refresh (groups.ts).
 */

export interface RefreshOwner {
  readonly rolloutId: string;
  readonly group: string;
}

const refreshOwnerSchema: z.ZodMiniType<RefreshOwner> = z.looseObject({
  rolloutId: z.string(),
  group: z.string(),
});

/** Notes that the refresh is the group's, in the rollout (idempotent). */
export const indexRefresh = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  group: { group: string; accountId: string; region: string; instanceRefreshId: string },
): Promise<void> => {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        ...refreshKey(group.accountId, group.region, group.instanceRefreshId),
        type: "refresh",
        rolloutId,
        group: group.group,
        accountId: group.accountId,
        region: group.region,
      },
    }),
  );
};

/** Which rollout and group an instance refresh belongs to, if it is one of ours. */
export const findRefresh = async (
  db: DynamoDBDocumentClient,
  table: string,
  accountId: string,
  region: string,
  refreshId: string,
): Promise<RefreshOwner | undefined> => {
  const { Item: item } = await db.send(
    new GetCommand({ TableName: table, Key: refreshKey(accountId, region, refreshId) }),
  );
  if (!item) return undefined;
  const owner = checkItem("refresh index", refreshOwnerSchema, item);
  return { rolloutId: owner.rolloutId, group: owner.group };
};

/** The refresh-index operations of one table (`createRolloutStore`). */
export const refreshOperations = (db: DynamoDBDocumentClient, table: string) => ({
  find: (accountId: string, region: string, refreshId: string) =>
    findRefresh(db, table, accountId, region, refreshId),
});
