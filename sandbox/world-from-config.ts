import { type OrchestratorConfig, parsePipelineArn } from "../lib/config/schema.ts";
import type { BuildDurations, Distribution } from "./model/image-builder.ts";
import { SandboxWorld } from "./model/world.ts";

export interface WorldFromConfigOptions {
  readonly start: string;
  /** Pipelines the sandbox marks DISABLED in Image Builder. */
  readonly disabledPipelines?: readonly string[];
  readonly buildDurations?: BuildDurations;
}

/**
 * A world that matches a config: every pipeline exists in its build account and region and
 * distributes to every configured account in each of that account's regions.
 */
export const worldFromConfig = (
  config: OrchestratorConfig,
  options: WorldFromConfigOptions,
): SandboxWorld => {
  const first = parsePipelineArn(config.pipelines[0]?.arn ?? "");
  const world = new SandboxWorld({
    start: options.start,
    orchestratorAccountId: first?.accountId ?? "999999999999",
    orchestratorRegion: first?.region ?? "eu-west-1",
    ...(options.buildDurations ? { buildDurations: options.buildDurations } : {}),
  });
  const byRegion = new Map<string, string[]>();
  for (const account of Object.values(config.accounts)) {
    for (const region of account.regions)
      byRegion.set(region, [...(byRegion.get(region) ?? []), account.id]);
  }
  const distributions: Distribution[] = [...byRegion].map(([region, accountIds]) => ({
    region,
    accountIds,
  }));
  for (const pipeline of config.pipelines) {
    const arn = parsePipelineArn(pipeline.arn);
    if (!arn) continue;
    world.imageBuilder.addPipeline({
      arn: pipeline.arn,
      name: arn.resourceName,
      accountId: arn.accountId,
      region: arn.region,
      recipeName: arn.resourceName,
      recipeVersion: "1.0.0",
      distributions,
      status: options.disabledPipelines?.includes(pipeline.name) ? "DISABLED" : "ENABLED",
    });
  }
  return world;
};
