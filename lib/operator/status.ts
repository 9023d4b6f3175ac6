import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { OrchestratorConfig } from "../config/schema.ts";
import { mismatchLines, recentRollouts, renderRollout } from "../rollout/status.ts";

/**
 * `npm run rollout -- status`: the latest rollouts of the given pipelines (every configured one
 * by default) and any unfinished one, read from the state table, each per target and group;
 * with `mismatches`, every target without an AMI and AMI without a target, not a sample.
 */
export const printRolloutStatus = async (
  db: DynamoDBDocumentClient,
  table: string,
  config: OrchestratorConfig,
  options: { readonly pipelines: readonly string[]; readonly mismatches: boolean },
  out: (text: string) => void,
): Promise<void> => {
  const pipelines =
    options.pipelines.length > 0 ? options.pipelines : config.pipelines.map((p) => p.name);
  const states = await recentRollouts(db, table, { pipelines });
  if (states.length === 0) out("no rollouts yet");
  for (const state of states) {
    const waves =
      config.pipelines.find((pipeline) => pipeline.name === state.record.pipeline)?.rollout
        ?.waves ?? [];
    out(
      `${renderRollout(
        state,
        waves.map((wave) => wave.name),
      )}\n`,
    );
    if (options.mismatches)
      for await (const line of mismatchLines(db, table, state.record)) out(line);
  }
};
