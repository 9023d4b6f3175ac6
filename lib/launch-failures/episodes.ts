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
import type { Alert } from "../alerts/types.ts";
import { isConditionFailure, writeIf } from "../aws/dynamodb.ts";
import type { GrantRequest } from "../kms/grants.ts";

/**
 * One alert per failure episode of a group: the first failed launch for (account, region, group,
 * cause) opens an episode (a conditional write), later ones only count in it, so a group that
 * fails 40 launches in a row raises one alert. An episode ends when the group launched an
 * instance successfully after its last failure, or when no failure came for `windowSeconds`
 * (the record's TTL attribute, checked explicitly: DynamoDB deletes expired items lazily).
 *
 * What the episode does is a state machine on the same item, so a Lambda retry after a crash
 * resumes from what was recorded instead of looking at the world again (after a heal the chain
 * looks intact, and a second look would tell a different story):
 *   claimed (alert recorded) ─────────────────────────────┐
 *   healing (alert and grants, with their Names, recorded) ─> healed ─┴─> alerted
 * The opening write records the alert and the grants before anything is done; each step is
 * idempotent (named grants) and each transition a conditional write that never goes back.
 */

export type EpisodeState = "claimed" | "healing" | "healed" | "alerted";

/** A grant the episode creates, named as lib/kms/grants.ts names it (so a retry finds it). */
export interface PlannedGrant extends GrantRequest {
  readonly grantName: string;
}

/** What the opening write records: the alert to send, and the grants to create first. */
export interface EpisodePlan {
  readonly alert: Extract<Alert, { kind: "launch-failed" }>;
  readonly grants: readonly PlannedGrant[];
}

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
  readonly state?: EpisodeState;
  /** The alert, as the opening failure composed it; sent once the grants are created. */
  readonly alert?: EpisodePlan["alert"];
  /** The grants the heal creates (empty: nothing to heal). */
  readonly grants?: readonly PlannedGrant[];
  /** Written by earlier versions, before `state` (items live for an episode window). */
  readonly healed?: boolean;
  readonly alerted?: boolean;
}

/** The record's state (items from before `state` was recorded read as what they say). */
export const stateOf = (record: EpisodeRecord): EpisodeState =>
  record.state ?? (record.alerted ? "alerted" : record.healed ? "healed" : "claimed");

/** Whether the episode set out to heal: a failure after it that finds the chain intact is its. */
export const healsGrants = (record: EpisodeRecord | undefined): boolean =>
  (record?.grants?.length ?? 0) > 0 || record?.healed === true;

export type EpisodeClaim =
  | { readonly opened: true; readonly record: EpisodeRecord }
  | { readonly opened: false; readonly record: EpisodeRecord };

const pk = (key: EpisodeKey) => `launch-failure#${key.accountId}#${key.region}#${key.group}`;

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
 * Opens an episode (recording `plan`: the state machine's start), or counts a failure in the
 * open one and returns it with its state. `launchedSince` says whether the group launched
 * successfully after a time (then the failure is a recurrence: a new episode).
 */
export const claimEpisode = async (
  db: DynamoDBDocumentClient,
  table: string,
  failure: EpisodeKey & {
    readonly at: string;
    readonly activityId: string;
    readonly plan?: EpisodePlan;
  },
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
    ...(failure.plan
      ? {
          state: failure.plan.grants.length > 0 ? "healing" : "claimed",
          alert: failure.plan.alert,
          grants: failure.plan.grants,
        }
      : {}),
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

/**
 * Moves the episode to `to` if it is in one of `from` (a conditional write: a late or concurrent
 * attempt never moves it back). False when it was elsewhere already.
 */
export const advanceEpisode = (
  db: DynamoDBDocumentClient,
  table: string,
  key: EpisodeKey,
  from: readonly EpisodeState[],
  to: EpisodeState,
): Promise<boolean> =>
  writeIf(
    db,
    new UpdateCommand({
      TableName: table,
      Key: { pk: pk(key), sk: key.cause },
      UpdateExpression: "SET #state = :to",
      // An item written before `state` existed counts as in any state (it is there: no stub).
      ConditionExpression: `attribute_exists(pk) AND (#state IN (${from.map((_, i) => `:from${i}`).join(", ")}) OR attribute_not_exists(#state))`,
      ExpressionAttributeNames: { "#state": "state" },
      ExpressionAttributeValues: {
        ":to": to,
        ...Object.fromEntries(from.map((state, i) => [`:from${i}`, state])),
      },
    }),
  );

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
