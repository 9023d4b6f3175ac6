import type { KMSClient } from "@aws-sdk/client-kms";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { ensureGrant, type GrantRequest, type GrantResult, grantName } from "../kms/grants.ts";
import type { PlannedGrant } from "./episodes.ts";

/**
 * Healing the one cause we can fix safely: a missing grant for a group the config rolls out to.
 * The grant is created exactly as a rollout creates it (lib/kms/grants.ts ensureGrant: in the
 * target account, deterministic Name, the 8 operations), so a second event, or the next
 * rollout, finds the same grant instead of adding one. A group outside the config is only
 * diagnosed: what another team runs is theirs to change.
 */

export interface FailedGroup {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** The configured pipeline whose rollout selects the group in its account and region, if any. */
export const pipelineSelecting = (
  config: OrchestratorConfig,
  group: FailedGroup,
): PipelineConfig | undefined =>
  config.pipelines.find((pipeline) => {
    const rollout = pipeline.rollout;
    if (!rollout) return false;
    const inWave = rollout.waves.some((wave) =>
      wave.accounts.some((alias) => {
        const account = config.accounts[alias];
        if (account?.id !== group.accountId) return false;
        return (wave.regions ?? account.regions).includes(group.region);
      }),
    );
    if (!inWave) return false;
    const selector = rollout.autoScalingGroups;
    if (selector.names) return selector.names.includes(group.name);
    const tags = Object.entries(selector.tags ?? {});
    // No selector never means "every group" (the config refuses it; this holds regardless).
    return tags.length > 0 && tags.every(([key, value]) => group.tags[key] === value);
  });

export type HealDecision =
  | { readonly heal: true; readonly pipeline: string }
  | { readonly heal: false; readonly reason: string };

export const healDecision = (config: OrchestratorConfig, group: FailedGroup): HealDecision => {
  const pipeline = pipelineSelecting(config, group);
  if (!pipeline)
    return {
      heal: false,
      reason: "the group is not selected by any configured pipeline's rollout: diagnosed only",
    };
  if (pipeline.rollout?.healGrants === false)
    return { heal: false, reason: `pipeline ${pipeline.name} sets rollout.healGrants: false` };
  return { heal: true, pipeline: pipeline.name };
};

/** The grants a heal creates, with the Names ensureGrant gives them (recorded before acting). */
export const planGrants = (missing: readonly GrantRequest[]): PlannedGrant[] =>
  missing.map((request) => ({
    keyArn: request.keyArn,
    granteePrincipal: request.granteePrincipal,
    grantName: grantName(request.keyArn, request.granteePrincipal),
  }));

/** Creates each missing grant with the target account's credentials (idempotent by Name). */
export const healMissingGrants = async (
  kms: KMSClient,
  missing: readonly GrantRequest[],
  accountId: string,
): Promise<GrantResult[]> => {
  const created: GrantResult[] = [];
  for (const request of missing) created.push(await ensureGrant(kms, request, accountId));
  return created;
};
