import {
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { UnknownNameError } from "../../errors.ts";
import { checkItem } from "./item-check.ts";
import { ACTIVE_PK, pipelinePk } from "./keys.ts";
import type { RolloutRecord } from "./rollouts.ts";

/**
 * A pipeline's rollouts (`pk PIPELINE#<name>`, `sk IMAGE#<version>#<build>#<id>`), ordered by
 * image version: what approve and rollback read to find "the latest", and where an operator's
 * rollout name is looked up.
 */

const PIPELINE_INDEX_PREFIX = "IMAGE#";

/** An entry of a pipeline's index or of the active list: a rollout and its readable name. */
interface IndexEntry {
  readonly rolloutId: string;
  readonly name?: string;
}

const entrySchema: z.ZodMiniType<IndexEntry> = z.looseObject({
  rolloutId: z.string(),
  name: z.exactOptional(z.string()),
});

const checkEntry = (item: Record<string, unknown>) => checkItem("rollout index", entrySchema, item);

/**
 * Sorts as the image's version does: semantic version, then build number, each zero-padded
 * (`1.10.0/2` after `1.9.0/7`), never by arrival time.
 */
export const imageVersionSortKey = (imageArn: string): string => {
  const [version = "", build = ""] = (imageArn.split(":image/")[1] ?? "").split("/").slice(-2);
  const numbers = [...version.split("."), build].map((part) =>
    (part.match(/\d+/)?.[0] ?? "0").padStart(10, "0"),
  );
  return `${PIPELINE_INDEX_PREFIX}${numbers.slice(0, 3).join(".")}#${numbers[3]}#${imageArn}`;
};

/**
 * Adds a rollout to its pipeline's index, which approve and rollback read to find "the latest".
 * Called only for an image that is not stale (an older image arriving after a newer one is never
 * indexed); idempotent.
 */
export const indexPipelineRollout = async (
  db: DynamoDBDocumentClient,
  table: string,
  rollout: Pick<RolloutRecord, "rolloutId" | "name" | "pipeline" | "createdAt">,
): Promise<void> => {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        pk: pipelinePk(rollout.pipeline),
        sk: imageVersionSortKey(rollout.rolloutId),
        type: "index",
        rolloutId: rollout.rolloutId,
        ...(rollout.name ? { name: rollout.name } : {}),
        pipeline: rollout.pipeline,
        createdAt: rollout.createdAt,
      },
    }),
  );
};

/** A pipeline's rollouts with the newest images first (by version, then build number). */
export const latestRollouts = async (
  db: DynamoDBDocumentClient,
  table: string,
  pipeline: string,
  limit = 5,
): Promise<string[]> => {
  const { Items: items = [] } = await db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: {
        ":pk": pipelinePk(pipeline),
        ":prefix": PIPELINE_INDEX_PREFIX,
      },
      ScanIndexForward: false,
      Limit: limit,
    }),
  );
  return items.map((item) => checkEntry(item).rolloutId);
};

/**
 * The rollout an operator means: its id (the image ARN) as is, or its readable name
 * (`<recipe>/<version>/<build>`, what status and alerts show), looked up among the pipeline's
 * rollouts when one is named, else among unfinished ones. A name two rollouts share (two pipelines
 * whose recipes share a name) is refused with both ids, rather than guessed.
 */
export const resolveRolloutId = async (
  db: DynamoDBDocumentClient,
  table: string,
  reference: string,
  pipeline?: string,
): Promise<string | undefined> => {
  if (reference.startsWith("arn:")) return reference;
  const matches = new Set<string>();
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pipeline ? pipelinePk(pipeline) : ACTIVE_PK },
    },
  )) {
    for (const item of page.Items ?? []) {
      const entry = checkEntry(item);
      if (entry.name === reference || entry.rolloutId === reference) matches.add(entry.rolloutId);
    }
  }
  if (matches.size > 1) {
    throw new UnknownNameError(
      `rollout name "${reference}" is ambiguous: use one of ${[...matches].join(", ")}`,
    );
  }
  return [...matches][0];
};

/** The pipeline-index operations of one table (`createRolloutStore`). */
export const pipelineOperations = (db: DynamoDBDocumentClient, table: string) => ({
  index: (rollout: Pick<RolloutRecord, "rolloutId" | "name" | "pipeline" | "createdAt">) =>
    indexPipelineRollout(db, table, rollout),
  latest: (pipeline: string, limit?: number) => latestRollouts(db, table, pipeline, limit),
  resolve: (reference: string, pipeline?: string) =>
    resolveRolloutId(db, table, reference, pipeline),
});
