import type { RolloutTarget } from "../plan.ts";

/**
 * Rollout state in the single DynamoDB table, one file of lib/rollout/store per record kind:
 *   pk ROLLOUT#<id>  sk META                         the rollout: image, waves dispatched, mismatches (rollouts.ts)
 *   pk ROLLOUT#<id>  sk TARGET#<account>#<region>    one per target, its steps as they complete (targets.ts)
 *   pk ROLLOUT#<id>  sk GROUP#<account>#<region>#<asg> one per Auto Scaling group: versions, refresh (groups.ts)
 *   pk ROLLOUT#<id>  sk MISMATCH#<kind>#<page>       a long mismatch list, in pages (../mismatches.ts)
 *   pk GRANT#<name>  sk META                         when a KMS grant (its GrantId) was first seen (grants.ts)
 *   pk REFRESH#<account>#<region>#<refresh id>  sk META    which rollout and group a refresh belongs to (refresh-index.ts)
 *   pk ACTIVE        sk ROLLOUT#<id>                  rollouts not finished yet, what the poll visits (active.ts)
 *   pk PIPELINE#<name>  sk IMAGE#<version>#<build>#<id>  a pipeline's rollouts, by image version (pipeline-index.ts)
 * A rollout's id is its image's ARN (unique per account and region); `name` is its readable
 * `<recipe>/<version>/<build>`.
 * Conditional writes make a duplicate or replayed notification create nothing new.
 */

type Where = Pick<RolloutTarget, "accountId" | "region">;

/** The partition of one rollout: its record, targets, groups and mismatch pages. */
export const rolloutPk = (rolloutId: string) => `ROLLOUT#${rolloutId}`;

export const rolloutKey = (rolloutId: string) => ({ pk: rolloutPk(rolloutId), sk: "META" });

export const targetKey = (rolloutId: string, target: Where) => ({
  pk: rolloutPk(rolloutId),
  sk: `TARGET#${target.accountId}#${target.region}`,
});

/** The sort-key prefix of one target's groups. */
export const groupPrefix = (target: Where) => `GROUP#${target.accountId}#${target.region}#`;

export const groupKey = (rolloutId: string, target: Where, group: string) => ({
  pk: rolloutPk(rolloutId),
  sk: `${groupPrefix(target)}${group}`,
});

export const refreshKey = (accountId: string, region: string, refreshId: string) => ({
  pk: `REFRESH#${accountId}#${region}#${refreshId}`,
  sk: "META",
});

export const ACTIVE_PK = "ACTIVE";

export const activeKey = (rolloutId: string) => ({ pk: ACTIVE_PK, sk: `ROLLOUT#${rolloutId}` });

export const pipelinePk = (pipeline: string) => `PIPELINE#${pipeline}`;

export const grantKey = (grantName: string) => ({ pk: `GRANT#${grantName}`, sk: "META" });

export const padWave = (waveIndex: number): string => String(waveIndex).padStart(4, "0");

/** A target's key in the `progress` index while it runs (lib/rollout/wave-progress.ts). */
export const openProgress = (target: Pick<RolloutTarget, "waveIndex" | "accountId" | "region">) =>
  `open#${padWave(target.waveIndex)}#${target.accountId}#${target.region}`;
