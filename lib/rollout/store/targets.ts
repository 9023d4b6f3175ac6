import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import type { RolloutFailure, RolloutTarget } from "../plan.ts";
import { setFields } from "./expressions.ts";
import { checkItem, type ShapeOf } from "./item-check.ts";
import { rolloutPk, targetKey } from "./keys.ts";

/**
 * Target records, one per account and region of a rollout (`pk ROLLOUT#<id>`, `sk
 * TARGET#<account>#<region>`): written by the rollout's plan, then roll-out-target records each
 * step on it before the next.
 */

type Where = Pick<RolloutTarget, "accountId" | "region">;

export const TARGET_STATUSES = [
  "pending",
  "in-progress",
  "waiting-for-grants",
  "waiting-for-refresh",
  /** Every group's instance refresh was started (watch-rollouts follows them). */
  "refreshing",
  /** Nothing to replace: no group, or every group already runs the AMI. */
  "up-to-date",
  "partially-failed",
  "failed",
  /** The rollout ended (superseded, failed, rolled back) before this target was rolled. */
  "cancelled",
] as const;

export type TargetStatus = (typeof TARGET_STATUSES)[number];

/** Statuses after which roll-out-target has nothing left to do for the target. */
export const FINISHED_TARGET_STATUSES: ReadonlySet<TargetStatus> = new Set([
  "refreshing",
  "up-to-date",
  "partially-failed",
  "failed",
  "cancelled",
]);

export interface GrantRecord {
  readonly keyArn: string;
  readonly granteePrincipal: string;
  readonly grantName: string;
  readonly grantId: string;
}

/**
 * One launch template of a target. The version the groups run (`sourceVersion`) is saved before
 * any version is created: resolved again after a crash, `$Latest`/`$Default` could name our own
 * new version, and the group would look up to date without being refreshed.
 */
export interface TemplateRecord {
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  readonly sourceVersion: number;
  /** The AMI the source version launches. */
  readonly sourceImageId?: string;
  /** The version that launches the new AMI, once created (or the source, if it already did). */
  readonly versionNumber?: number;
  readonly created?: boolean;
}

export interface TargetRecord extends RolloutTarget {
  readonly rolloutId: string;
  readonly status: TargetStatus;
  readonly startedAt?: string;
  readonly updatedAt?: string;
  readonly keyArns?: readonly string[];
  readonly grants?: readonly GrantRecord[];
  /** Until then a new grant may not be usable by Auto Scaling yet: refreshes wait. */
  readonly grantsReadyAt?: string;
  /** By the group's template reference (`<id or name>@<version>`). */
  readonly templates?: Readonly<Record<string, TemplateRecord>>;
  readonly unsupportedGroups?: ReadonlyArray<{ name: string; reason: string }>;
  readonly missingGroups?: readonly string[];
  readonly reason?: string;
  /** Its key in the `progress` index while it runs or once it failed; removed once it succeeded. */
  readonly progress?: string;
  readonly outcome?: "succeeded" | "failed";
  /** Its first failure, for the rollout's alert (bounded). */
  readonly failure?: RolloutFailure;
}

// --- What a stored target item must hold ------------------------------------------------------

const optional = z.exactOptional;

export const grantSchema: z.ZodMiniType<GrantRecord> = z.looseObject({
  keyArn: z.string(),
  granteePrincipal: z.string(),
  grantName: z.string(),
  grantId: z.string(),
} satisfies ShapeOf<GrantRecord>);

const templateSchema: z.ZodMiniType<TemplateRecord> = z.looseObject({
  launchTemplateId: z.string(),
  launchTemplateName: z.string(),
  sourceVersion: z.number(),
  sourceImageId: optional(z.string()),
  versionNumber: optional(z.number()),
  created: optional(z.boolean()),
} satisfies ShapeOf<TemplateRecord>);

export const failureSchema: z.ZodMiniType<RolloutFailure> = z.looseObject({
  wave: z.string(),
  account: z.string(),
  accountId: z.string(),
  region: z.string(),
  group: optional(z.string()),
  instanceRefreshId: optional(z.string()),
  reason: z.string(),
} satisfies ShapeOf<RolloutFailure>);

const unsupportedSchema: z.ZodMiniType<{ name: string; reason: string }> = z.looseObject({
  name: z.string(),
  reason: z.string(),
});

export const targetSchema: z.ZodMiniType<TargetRecord> = z.looseObject({
  wave: z.string(),
  waveIndex: z.number(),
  account: z.string(),
  accountId: z.string(),
  region: z.string(),
  amiId: z.string(),
  sharedFrom: optional(z.string()),
  rolloutId: z.string(),
  status: z.enum(TARGET_STATUSES),
  startedAt: optional(z.string()),
  updatedAt: optional(z.string()),
  keyArns: optional(z.array(z.string())),
  grants: optional(z.array(grantSchema)),
  grantsReadyAt: optional(z.string()),
  templates: optional(z.record(z.string(), templateSchema)),
  unsupportedGroups: optional(z.array(unsupportedSchema)),
  missingGroups: optional(z.array(z.string())),
  reason: optional(z.string()),
  progress: optional(z.string()),
  outcome: optional(z.enum(["succeeded", "failed"])),
  failure: optional(failureSchema),
} satisfies ShapeOf<TargetRecord>);

export const checkTarget = (item: Record<string, unknown>): TargetRecord =>
  checkItem("target", targetSchema, item);

// --- Reads and writes -------------------------------------------------------------------------

export const getTarget = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  target: Where,
): Promise<TargetRecord | undefined> => {
  const { Item: item } = await db.send(
    new GetCommand({
      TableName: table,
      Key: targetKey(rolloutId, target),
      ConsistentRead: true,
    }),
  );
  return item ? checkTarget(item) : undefined;
};

export type TargetUpdate = Partial<
  Omit<TargetRecord, keyof RolloutTarget | "rolloutId" | "updatedAt">
>;

/** Sets the given fields on an existing target record (never creates one). */
export const updateTarget = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  target: Where,
  fields: TargetUpdate,
  now: string,
): Promise<void> => {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: targetKey(rolloutId, target),
      ConditionExpression: "attribute_exists(pk)",
      ...setFields({ ...fields, updatedAt: now }),
    }),
  );
};

/** A rollout's targets in key order, a page at a time. */
export async function* targetPages(
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  pageSize: number,
): AsyncGenerator<TargetRecord[]> {
  for await (const page of paginateQuery(
    { client: db, pageSize },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": rolloutPk(rolloutId), ":prefix": "TARGET#" },
    },
  ))
    yield (page.Items ?? []).map(checkTarget);
}

/** The target operations of one table (`createRolloutStore`). */
export const targetOperations = (db: DynamoDBDocumentClient, table: string) => ({
  get: (rolloutId: string, target: Where) => getTarget(db, table, rolloutId, target),
  update: (rolloutId: string, target: Where, fields: TargetUpdate, now: string) =>
    updateTarget(db, table, rolloutId, target, fields, now),
  pages: (rolloutId: string, pageSize: number) => targetPages(db, table, rolloutId, pageSize),
});
