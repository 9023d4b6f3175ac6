import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
} from "@aws-sdk/lib-dynamodb";
import { OrchestratorError } from "../errors.ts";
import type { RolloutPlan } from "./plan.ts";

/**
 * A rollout's distribution mismatches (plan.ts), stored so that no item grows with the fleet: a
 * DynamoDB item is at most 400 KB (AWS-FACTS section 11), which 6,000 missing targets exceed. The
 * rollout record keeps each list's count and its first entries; a longer list is also written
 * whole, in pages of bounded size, beside the record:
 *   pk ROLLOUT#<id>  sk MISMATCH#<kind>#<page, 5 digits>   { entries: [...] }
 */

export const MISMATCH_KINDS = ["targetsWithoutAmi", "amisWithoutTarget"] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];
type Mismatches = Pick<RolloutPlan, MismatchKind>;

/** Entries of each list kept on the rollout record (and in logs and outcomes). */
export const MISMATCH_SAMPLE = 20;

/**
 * Entries per page, measured as JSON (which counts more bytes than DynamoDB's item size: quotes
 * and punctuation): a quarter of the 400 KB limit, so a page never comes near it.
 */
export const PAGE_BYTES = 100_000;

/** Each list's count and first entries: what the record, the outcome and the log carry. */
export interface MismatchSummary {
  readonly targetsWithoutAmi: Mismatches["targetsWithoutAmi"];
  readonly amisWithoutTarget: Mismatches["amisWithoutTarget"];
  readonly targetsWithoutAmiCount: number;
  readonly amisWithoutTargetCount: number;
}

export const summariseMismatches = (plan: Mismatches): MismatchSummary => ({
  targetsWithoutAmi: plan.targetsWithoutAmi.slice(0, MISMATCH_SAMPLE),
  amisWithoutTarget: plan.amisWithoutTarget.slice(0, MISMATCH_SAMPLE),
  targetsWithoutAmiCount: plan.targetsWithoutAmi.length,
  amisWithoutTargetCount: plan.amisWithoutTarget.length,
});

/** Entries cut into pages of at most `budget` bytes of JSON (an entry larger alone is alone). */
export const pagesOf = <T>(entries: readonly T[], budget = PAGE_BYTES): T[][] => {
  const pages: T[][] = [];
  let page: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (page.length > 0 && bytes + size > budget) {
      pages.push(page);
      page = [];
      bytes = 0;
    }
    page.push(entry);
    bytes += size;
  }
  if (page.length > 0) pages.push(page);
  return pages;
};

export const mismatchPageKey = (rolloutId: string, kind: MismatchKind, page: number) => ({
  pk: `ROLLOUT#${rolloutId}`,
  sk: `MISMATCH#${kind}#${String(page).padStart(5, "0")}`,
});

/** BatchWriteItem takes at most 25 puts (DynamoDB API reference, BatchWriteItem). */
const BATCH = 25;
const ATTEMPTS = 8;

/**
 * Puts the items, 25 per BatchWriteItem, sending again what DynamoDB leaves unprocessed (with a
 * growing pause, as the API reference advises) until a retry of the whole invocation is better.
 */
const putAll = async (
  db: DynamoDBDocumentClient,
  table: string,
  items: ReadonlyArray<Record<string, unknown>>,
): Promise<void> => {
  for (let start = 0; start < items.length; start += BATCH) {
    let requests = items
      .slice(start, start + BATCH)
      .map((item) => ({ PutRequest: { Item: item } }));
    for (let attempt = 0; requests.length > 0; attempt += 1) {
      if (attempt === ATTEMPTS) {
        throw new OrchestratorError(
          `DynamoDB left ${requests.length} mismatch pages unwritten after ${ATTEMPTS} attempts`,
          { retryable: true },
        );
      }
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const { UnprocessedItems: unprocessed } = await db.send(
        new BatchWriteCommand({ RequestItems: { [table]: requests } }),
      );
      requests = (unprocessed?.[table] ?? []).flatMap((request) =>
        request.PutRequest?.Item ? [{ PutRequest: { Item: request.PutRequest.Item } }] : [],
      );
    }
  }
};

/**
 * Writes every list longer than its sample, whole, in pages. Keys and contents follow from the
 * plan alone, so a retried notification overwrites the same pages with the same entries: nothing
 * is duplicated. Returns the number of pages written.
 */
export const writeMismatchPages = async (
  db: DynamoDBDocumentClient,
  table: string,
  rolloutId: string,
  plan: Mismatches,
): Promise<number> => {
  const items = MISMATCH_KINDS.flatMap((kind) =>
    plan[kind].length > MISMATCH_SAMPLE
      ? pagesOf<unknown>(plan[kind]).map((entries, page) => ({
          ...mismatchPageKey(rolloutId, kind, page),
          type: "mismatches",
          rolloutId,
          kind,
          entries,
        }))
      : [],
  );
  await putAll(db, table, items);
  return items.length;
};

/**
 * One list of a rollout, page by page: the stored pages when the list was longer than its
 * sample, else the sample on the record (which is then the whole list). Never all at once.
 */
export async function* readMismatches<K extends MismatchKind>(
  db: DynamoDBDocumentClient,
  table: string,
  record: Partial<MismatchSummary> & { readonly rolloutId: string },
  kind: K,
): AsyncGenerator<Mismatches[K]> {
  const sample = (record[kind] ?? []) as Mismatches[K];
  const count = record[`${kind}Count`] ?? sample.length;
  if (count <= sample.length) {
    if (sample.length > 0) yield sample;
    return;
  }
  const { pk, sk } = mismatchPageKey(record.rolloutId, kind, 0);
  for await (const page of paginateQuery(
    { client: db, pageSize: 5 },
    {
      TableName: table,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ExpressionAttributeValues: { ":pk": pk, ":prefix": sk.slice(0, -5) },
    },
  )) {
    for (const item of page.Items ?? []) yield item.entries as Mismatches[K];
  }
}
