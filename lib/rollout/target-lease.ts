import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure, writeIf } from "../aws/dynamodb.ts";

/**
 * One rollout at a time in an account and region. Within a rollout each (account, region) is one
 * target, worked on by one invocation at a time; rollouts of several pipelines reaching the same
 * account and region would otherwise add up there, on request quotas that are per account and
 * region (EC2 API reference, "Request throttling"; Auto Scaling's single shared bucket). The lease
 * is held for the length of one roll-out-target invocation and outlives a crashed one by at most
 * its duration (the function's timeout is under it). The same rollout takes it again at once (a
 * redelivery), so a retry never waits on itself.
 */

/** Longer than any roll-out-target invocation (its timeout is 150 s; Lambda's maximum 15 minutes). */
export const LEASE_MS = 16 * 60_000;

const leaseKey = (where: { accountId: string; region: string }) => ({
  pk: `LEASE#${where.accountId}#${where.region}`,
  sk: "META",
});

/** Takes the account and region for `holder` (a rollout id); false while another holds it. */
export const takeTargetLease = (
  db: DynamoDBDocumentClient,
  table: string,
  where: { accountId: string; region: string },
  holder: string,
  now: number,
): Promise<boolean> =>
  writeIf(
    db,
    new PutCommand({
      TableName: table,
      Item: {
        ...leaseKey(where),
        type: "lease",
        holder,
        expiresAt: now + LEASE_MS,
        // DynamoDB's TTL removes a lease a crash left, long after it stopped mattering.
        expiration: Math.floor((now + LEASE_MS) / 1000) + 3600,
      },
      ConditionExpression: "attribute_not_exists(pk) OR holder = :holder OR expiresAt < :now",
      ExpressionAttributeValues: { ":holder": holder, ":now": now },
    }),
  );

/** Gives the account and region back, if `holder` still has them. */
export const releaseTargetLease = async (
  db: DynamoDBDocumentClient,
  table: string,
  where: { accountId: string; region: string },
  holder: string,
): Promise<void> => {
  try {
    await db.send(
      new DeleteCommand({
        TableName: table,
        Key: leaseKey(where),
        ConditionExpression: "holder = :holder",
        ExpressionAttributeValues: { ":holder": holder },
      }),
    );
  } catch (error) {
    // Expired and taken by another rollout meanwhile: not ours to give back.
    if (!isConditionFailure(error)) throw error;
  }
};
