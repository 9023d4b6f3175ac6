import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { OrchestratorConfig } from "../config/schema.ts";
import { mismatchLines, recentRolloutRecords, rolloutStatusLines } from "../rollout/status.ts";

export interface StatusRequest {
  readonly pipelines: readonly string[];
  readonly mismatches: boolean;
  /** Targets listed per rollout (the rest are counted); undefined: every one (`--all`). */
  readonly limit?: number;
  /** Only the failed targets (`--failed`). */
  readonly failedOnly?: boolean;
}

/**
 * `npm run rollout -- status`: the latest rollouts of the given pipelines (every configured one
 * by default) and any unfinished one, read from the state table, each per target and group, page
 * by page (a 10,000-target rollout is never held in memory: the first `limit` targets, or only
 * the failed ones); with `mismatches`, every target without an AMI and AMI without a target.
 */
export const printRolloutStatus = async (
  db: DynamoDBDocumentClient,
  table: string,
  config: OrchestratorConfig,
  options: StatusRequest,
  out: (text: string) => void,
): Promise<void> => {
  const pipelines =
    options.pipelines.length > 0 ? options.pipelines : config.pipelines.map((p) => p.name);
  const records = await recentRolloutRecords(db, table, { pipelines });
  if (records.length === 0) out("no rollouts yet");
  for (const record of records) {
    const waves =
      config.pipelines.find((pipeline) => pipeline.name === record.pipeline)?.rollout?.waves ?? [];
    for await (const line of rolloutStatusLines(
      db,
      table,
      record,
      waves.map((wave) => wave.name),
      {
        ...(options.limit === undefined ? {} : { limit: options.limit }),
        ...(options.failedOnly ? { failedOnly: true } : {}),
      },
    ))
      out(line);
    out("");
    if (options.mismatches) for await (const line of mismatchLines(db, table, record)) out(line);
  }
};
