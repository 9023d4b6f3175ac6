import {
  type AutoScalingClient,
  paginateDescribeScalingActivities,
} from "@aws-sdk/client-auto-scaling";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";

/**
 * One alert per failure episode of a group: the first failed launch for (account, region, group,
 * cause) opens an episode (a conditional write), later ones only count in it, so a group that
 * fails 40 launches in a row raises one alert. An episode ends when the group launched an
 * instance successfully after its last failure, or when no failure came for `windowSeconds`
 * (the record's TTL attribute, checked explicitly: DynamoDB deletes expired items lazily).
 */

export interface EpisodeKey {
  readonly accountId: string;
  readonly region: string;
  readonly group: string;
  readonly cause: string;
}

export interface EpisodeRecord extends EpisodeKey {
  readonly firstAt: string;
  readonly lastAt: string;
  readonly failures: number;
  readonly activityId: string;
  /** Grants created for this episode (the heal), if any. */
  readonly healed?: boolean;
  /** The alert was handed to the alerts queue (until then, a redelivery alerts again). */
  readonly alerted?: boolean;
}

export type EpisodeClaim =
  | { readonly opened: true; readonly record: EpisodeRecord }
  | { readonly opened: false; readonly record: EpisodeRecord };

const pk = (key: EpisodeKey) => `launch-failure#${key.accountId}#${key.region}#${key.group}`;

const isConditionFailure = (error: unknown) =>
  error instanceof Error && error.name === "ConditionalCheckFailedException";

export const readEpisode = async (
  db: DynamoDBDocumentClient,
  table: string,
  key: EpisodeKey,
  nowSeconds: number,
): Promise<EpisodeRecord | undefined> => {
  const { Item: item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: pk(key), sk: key.cause }, ConsistentRead: true }),
  );
  if (!item || (item.expiration as number) <= nowSeconds) return undefined;
  return item as unknown as EpisodeRecord;
};

/**
 * Opens an episode, or counts a failure in the open one. `launchedSince` says whether the group
 * launched successfully after a time (then the failure is a recurrence: a new episode).
 */
export const claimEpisode = async (
  db: DynamoDBDocumentClient,
  table: string,
  failure: EpisodeKey & { readonly at: string; readonly activityId: string },
  options: {
    readonly now: Date;
    readonly windowSeconds: number;
    readonly launchedSince: (since: string) => Promise<boolean>;
  },
): Promise<EpisodeClaim> => {
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  const key = {
    accountId: failure.accountId,
    region: failure.region,
    group: failure.group,
    cause: failure.cause,
  };
  const fresh: EpisodeRecord = {
    ...key,
    firstAt: failure.at,
    lastAt: failure.at,
    failures: 1,
    activityId: failure.activityId,
  };
  const open = async (condition: string, values: Record<string, unknown>) => {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: pk(key),
          sk: key.cause,
          ...fresh,
          expiration: nowSeconds + options.windowSeconds,
        },
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      }),
    );
    return { opened: true as const, record: fresh };
  };
  try {
    return await open("attribute_not_exists(pk) OR expiration <= :now", { ":now": nowSeconds });
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
  const current = await readEpisode(db, table, key, nowSeconds);
  if (current && (await options.launchedSince(current.lastAt))) {
    // A success since the last failure: this one starts a new episode (once, if raced).
    try {
      return await open("lastAt = :lastAt", { ":lastAt": current.lastAt });
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
  const { Attributes: updated } = await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: pk(key), sk: key.cause },
      UpdateExpression:
        "SET failures = if_not_exists(failures, :zero) + :one, lastAt = :at, expiration = :expiration",
      ExpressionAttributeValues: {
        ":zero": 0,
        ":one": 1,
        ":at": failure.at > (current?.lastAt ?? "") ? failure.at : (current?.lastAt ?? failure.at),
        ":expiration": nowSeconds + options.windowSeconds,
      },
      ReturnValues: "ALL_NEW",
    }),
  );
  return { opened: false, record: updated as unknown as EpisodeRecord };
};

/** Records what was done for the episode: its grants healed, its alert handed over. */
export const markEpisode = async (
  db: DynamoDBDocumentClient,
  table: string,
  key: EpisodeKey,
  marks: { readonly healed?: true; readonly alerted?: true },
): Promise<void> => {
  const names = Object.keys(marks);
  if (names.length === 0) return;
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: pk(key), sk: key.cause },
      UpdateExpression: `SET ${names.map((name) => `${name} = :yes`).join(", ")}`,
      ExpressionAttributeValues: { ":yes": true },
    }),
  );
};

/**
 * Whether the group launched an instance successfully after `since` (DescribeScalingActivities,
 * newest first: reading stops at the first activity older than `since`).
 */
export const launchedSince = async (
  autoScaling: AutoScalingClient,
  group: string,
  since: string,
): Promise<boolean> => {
  const after = Date.parse(since);
  for await (const page of paginateDescribeScalingActivities(
    { client: autoScaling },
    { AutoScalingGroupName: group },
  )) {
    for (const activity of page.Activities ?? []) {
      if (!activity.StartTime || activity.StartTime.getTime() <= after) return false;
      if (
        activity.StatusCode === "Successful" &&
        /^Launching a new EC2 instance/i.test(activity.Description ?? "")
      )
        return true;
    }
  }
  return false;
};
