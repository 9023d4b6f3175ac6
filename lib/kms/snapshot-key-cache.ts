import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { SnapshotKeyCache } from "./snapshot-keys.ts";

/** A week: long past any rollout of the AMI, and the facts never change meanwhile. */
const KEEP_SECONDS = 7 * 24 * 3600;

/**
 * The encryption of a shared AMI's snapshots, in the state table: read once from the owner's
 * account, then by every target of the region from here (an AMI's snapshots and their keys never
 * change). In shared-AMI mode this turns one owner DescribeSnapshots per target into about one
 * per AMI: the owner's EC2 bucket for unfiltered DescribeSnapshots holds 50 calls and refills 10
 * per second (EC2 API reference, "Request throttling"). Two targets racing may both read the
 * owner; both write the same facts.
 */
export const dynamoSnapshotKeyCache = (
  db: DynamoDBDocumentClient,
  table: string,
  now: () => number,
): SnapshotKeyCache => {
  const key = (amiId: string) => ({ pk: `AMI#${amiId}`, sk: "ENCRYPTION" });
  return {
    get: async (amiId) => {
      const { Item: item } = await db.send(
        new GetCommand({ TableName: table, Key: key(amiId), ConsistentRead: true }),
      );
      if (!item || Number(item.expiration) <= now() / 1000) return undefined;
      return {
        ownerId: String(item.ownerId),
        keyArns: item.keyArns as string[],
        unencryptedSnapshotIds: item.unencryptedSnapshotIds as string[],
      };
    },
    put: async (amiId, facts) => {
      await db.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...key(amiId),
            type: "ami-encryption",
            ...facts,
            expiration: Math.floor(now() / 1000) + KEEP_SECONDS,
          },
        }),
      );
    },
  };
};
