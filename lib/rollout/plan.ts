import { parsePipelineArn } from "../config/arns.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import type { DistributedAmi, ImageDistribution, ImageStateChange } from "../events/image-state.ts";
import type { RolloutLineage } from "./lineage.ts";

/**
 * One account + region of one wave, with the AMI it launches: its own copy, or the build
 * account's AMI shared with it by launch permission.
 */
export interface RolloutTarget {
  readonly wave: string;
  readonly waveIndex: number;
  /** Account alias from the config. */
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly amiId: string;
  /**
   * Set when the target launches the build account's AMI by launch permission (not a copy): the
   * account that owns the AMI and its snapshots, and whose key encrypts them.
   */
  readonly sharedFrom?: string;
}

/** One thing that failed a rollout: a target, or a group in it. */
export interface RolloutFailure {
  readonly wave: string;
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly group?: string;
  readonly instanceRefreshId?: string;
  readonly reason: string;
}

export interface RolloutPlan {
  /**
   * The image build-version ARN: unique per account and region (two pipelines whose recipes share
   * a name never collide), and the same image always plans the same rollout.
   */
  readonly rolloutId: string;
  /** What people read: `<recipe>/<version>/<build>` (status, alerts, approve); from the id if absent. */
  readonly name?: string;
  readonly pipeline: string;
  readonly imageArn: string;
  readonly targets: readonly RolloutTarget[];
  /** Configured targets with no AMI in the image's outputs: fix the distribution configuration. */
  readonly targetsWithoutAmi: ReadonlyArray<Omit<RolloutTarget, "amiId">>;
  /** AMIs distributed to accounts/regions no wave rolls out to (the build account's own excepted). */
  readonly amisWithoutTarget: readonly DistributedAmi[];
  /** Where the image comes from (commit, recipe, AMIs per region), bounded (lineage.ts). */
  readonly lineage?: RolloutLineage;
}

/** A rollout is keyed by its image's ARN (unique per account and region). */
export const rolloutIdOf = (imageArn: string): string => imageArn;

/** `arn:…:image/base-al2023/1.4.0/7` → `base-al2023/1.4.0/7`, the readable name of its rollout. */
export const rolloutNameOf = (imageArn: string): string => imageArn.split(":image/")[1] ?? imageArn;

/**
 * Whether a region's distribution shares the build account's AMI with an account by launch
 * permission. An organization or OU share reaches every account in it; listing an OU's members
 * needs Organizations permissions in the management account, so every configured account is
 * assumed to be a member (one that is not fails visibly: it cannot see the AMI).
 */
const sharesWith = (distribution: ImageDistribution | undefined, accountId: string): boolean => {
  const permission = distribution?.launchPermission;
  if (!permission) return false;
  return (
    permission.userIds.includes(accountId) ||
    permission.userGroups.includes("all") ||
    permission.organizationArns.length > 0 ||
    permission.organizationalUnitArns.length > 0
  );
};

/**
 * Maps an AVAILABLE image's distributed AMIs onto the pipeline's waves. How each target gets its
 * AMI comes from the image itself, not from the config: a copy in the target's account and region
 * (`targetAccountIds`) is used when there is one; otherwise a launch permission on the build
 * account's AMI of that region (`launchPermission`) makes that AMI the target's. So one config
 * rolls out copied, shared and mixed distributions alike. Mismatches in either
 * direction are returned, not thrown: they are the most common misconfiguration (a distribution
 * config and a rollout config that drifted apart) and must be visible, but must not block the
 * targets that are fine.
 */
export const planRollout = (
  config: OrchestratorConfig,
  pipeline: PipelineConfig,
  image: ImageStateChange & { amis: readonly DistributedAmi[] },
): RolloutPlan => {
  const amiAt = new Map(image.amis.map((ami) => [`${ami.accountId}/${ami.region}`, ami]));
  // The image's own account built it and owns the shared AMIs (the pipeline's, in practice).
  const owner = image.imageArn.split(":")[4] || parsePipelineArn(pipeline.arn)?.accountId;
  const distributionIn = new Map(
    (image.distributions ?? []).map((distribution) => [distribution.region, distribution]),
  );
  const used = new Set<string>();
  const targets: RolloutTarget[] = [];
  const targetsWithoutAmi: Array<Omit<RolloutTarget, "amiId">> = [];
  (pipeline.rollout?.waves ?? []).forEach((wave, waveIndex) => {
    for (const alias of wave.accounts) {
      const account = config.accounts[alias];
      if (!account) continue; // rejected by config validation
      for (const region of wave.regions ?? account.regions) {
        const key = `${account.id}/${region}`;
        const base = { wave: wave.name, waveIndex, account: alias, accountId: account.id, region };
        const ami = amiAt.get(key);
        const shared =
          owner && account.id !== owner && sharesWith(distributionIn.get(region), account.id)
            ? amiAt.get(`${owner}/${region}`)
            : undefined;
        if (ami) {
          used.add(key);
          targets.push({ ...base, amiId: ami.image });
        } else if (shared && owner) {
          targets.push({ ...base, amiId: shared.image, sharedFrom: owner });
        } else targetsWithoutAmi.push(base);
      }
    }
  });
  const buildAccount = parsePipelineArn(pipeline.arn)?.accountId;
  const amisWithoutTarget = image.amis.filter(
    (ami) =>
      !used.has(`${ami.accountId}/${ami.region}`) &&
      ami.accountId !== buildAccount &&
      ami.accountId !== owner,
  );
  return {
    rolloutId: rolloutIdOf(image.imageArn),
    name: rolloutNameOf(image.imageArn),
    pipeline: pipeline.name,
    imageArn: image.imageArn,
    targets,
    targetsWithoutAmi,
    amisWithoutTarget,
  };
};
