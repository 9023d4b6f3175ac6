import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure, writeIf } from "../aws/dynamodb.ts";

/**
 * One roll-out-target invocation at a time in an account and region. Within a rollout each
 * (account, region) is one target; its duplicate deliveries (SQS delivers at least once), and the
 * rollouts of other pipelines reaching the same account and region, would otherwise work there at
 * the same time, on request quotas that are per account and region (EC2 API reference, "Request
 * throttling"; Auto Scaling's single shared bucket). The lease is held for one invocation and
 * outlives a crashed one by at most `LEASE_MS`: roll-out-target's timeout (150 s) is far under
 * it, and its redelivery comes only after the queue's visibility timeout (900 s) anyway.
 */

/** Longer than any roll-out-target invocation (its timeout is 150 s). */
export const LEASE_MS = 5 * 60_000;

const leaseKey = (where: { accountId: string; region: string }) => ({
  pk: `LEASE#${where.accountId}#${where.region}`,
  sk: "META",
});

/** Takes the account and region for `holder` (one invocation); false while another holds it. */
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
