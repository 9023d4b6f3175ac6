import { parsePipelineArn } from "../config/arns.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import type { DistributedAmi, ImageStateChange } from "../events/image-state.ts";

/** One account + region of one wave, with the AMI Image Builder distributed there. */
export interface RolloutTarget {
  readonly wave: string;
  readonly waveIndex: number;
  /** Account alias from the config. */
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly amiId: string;
}

export interface RolloutPlan {
  /** Readable and deterministic: the same image always plans the same rollout. */
  readonly rolloutId: string;
  readonly pipeline: string;
  readonly imageArn: string;
  readonly targets: readonly RolloutTarget[];
  /** Configured targets with no AMI in the image's outputs: fix the distribution configuration. */
  readonly targetsWithoutAmi: ReadonlyArray<Omit<RolloutTarget, "amiId">>;
  /** AMIs distributed to accounts/regions no wave rolls out to (the build account's own excepted). */
  readonly amisWithoutTarget: readonly DistributedAmi[];
}

/** `arn:…:image/base-al2023/1.4.0/7` → `base-al2023/1.4.0/7`. */
export const rolloutIdOf = (imageArn: string): string => imageArn.split(":image/")[1] ?? imageArn;

/**
 * Maps an AVAILABLE image's distributed AMIs onto the pipeline's waves. Mismatches in either
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
        if (ami) {
          used.add(key);
          targets.push({ ...base, amiId: ami.image });
        } else targetsWithoutAmi.push(base);
      }
    }
  });
  const buildAccount = parsePipelineArn(pipeline.arn)?.accountId;
  const amisWithoutTarget = image.amis.filter(
    (ami) => !used.has(`${ami.accountId}/${ami.region}`) && ami.accountId !== buildAccount,
  );
  return {
    rolloutId: rolloutIdOf(image.imageArn),
    pipeline: pipeline.name,
    imageArn: image.imageArn,
    targets,
    targetsWithoutAmi,
    amisWithoutTarget,
  };
};
