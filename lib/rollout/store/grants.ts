import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { isConditionFailure } from "../../aws/dynamodb.ts";
import { checkItem } from "./item-check.ts";
import { grantKey } from "./keys.ts";
import type { GrantRecord } from "./targets.ts";

/**
 * Grants seen (`pk GRANT#<name>`, `sk META`): when each KMS grant, by name and GrantId, was first
 * seen, which is when its propagation started.
 */

const seenSchema: z.ZodMiniType<{ firstSeenAt: string }> = z.looseObject({
  firstSeenAt: z.string(),
});

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
  const key = grantKey(grant.grantName);
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
    return attributes ? checkItem("grant", seenSchema, attributes).firstSeenAt : now;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
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

/** The grant operations of one table (`createRolloutStore`). */
export const grantOperations = (db: DynamoDBDocumentClient, table: string) => ({
  register: (grant: GrantRecord, now: string) => registerGrant(db, table, grant, now),
});
