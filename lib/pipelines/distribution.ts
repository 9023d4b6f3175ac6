import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import type { PipelineDefinition } from "./definition-schema.ts";

/**
 * Where a managed pipeline's AMIs go, derived from the config rather than written twice: every
 * (account, region) its rollout waves name. The build region is always distributed to (the
 * build account keeps the AMI there), and the build account is never its own target.
 */

/** API model `AccountList`: at most 1,536 accounts per distribution. */
export const MAX_ACCOUNTS_PER_DISTRIBUTION = 1536;

export interface RegionTargets {
  readonly region: string;
  /** Target account ids in the region, sorted, without the build account. */
  readonly accountIds: readonly string[];
}

export const distributionTargets = (
  config: OrchestratorConfig,
  pipeline: PipelineConfig & { account: string; region: string },
): RegionTargets[] => {
  const byRegion = new Map<string, Set<string>>([[pipeline.region, new Set()]]);
  for (const wave of pipeline.rollout?.waves ?? []) {
    for (const alias of wave.accounts) {
      const account = config.accounts[alias];
      if (!account) continue;
      for (const region of wave.regions ?? account.regions) {
        const ids = byRegion.get(region) ?? new Set<string>();
        if (account.id !== pipeline.account) ids.add(account.id);
        byRegion.set(region, ids);
      }
    }
  }
  return [...byRegion]
    .map(([region, ids]) => ({ region, accountIds: [...ids].sort() }))
    .sort((a, b) =>
      a.region === pipeline.region
        ? -1
        : b.region === pipeline.region
          ? 1
          : a.region < b.region
            ? -1
            : 1,
    );
};

const regionOfArn = (value: string): string | undefined =>
  value.startsWith("arn:") ? value.split(":")[3] : undefined;

/** The KMS key for one region, or why there is none that can work there. */
export const kmsKeyFor = (
  kmsKeyId: PipelineDefinition["distribution"]["kmsKeyId"],
  region: string,
): { key?: string; problem?: string } => {
  if (kmsKeyId === undefined) return {};
  if (typeof kmsKeyId !== "string") {
    const key = kmsKeyId[region];
    return key === undefined
      ? { problem: `no key for ${region}, where the AMI is distributed: add "${region}: <key>"` }
      : { key };
  }
  const keyRegion = regionOfArn(kmsKeyId);
  // KMS keys are regional (KMS developer guide, "Multi-Region keys"): a key ARN works only in
  // its region; an alias name or a key id resolves in each region.
  if (keyRegion !== undefined && keyRegion !== region) {
    return {
      problem: `${kmsKeyId} is a key of ${keyRegion} but the AMI is also distributed to ${region}: give an alias (alias/<name>) present in every region, or a key per region ({ ${region}: <key> })`,
    };
  }
  return { key: kmsKeyId };
};

/** CloudFormation `Distributions` for the definition's mode, and anything that cannot be built. */
export const distributionsOf = (
  definition: PipelineDefinition,
  targets: readonly RegionTargets[],
  amiName: string,
): { distributions: Record<string, unknown>[]; problems: string[] } => {
  const problems: string[] = [];
  const distributions = targets.map(({ region, accountIds }) => {
    if (accountIds.length > MAX_ACCOUNTS_PER_DISTRIBUTION) {
      problems.push(
        `${accountIds.length} target accounts in ${region}: Image Builder takes at most ${MAX_ACCOUNTS_PER_DISTRIBUTION} per region (API model AccountList)`,
      );
    }
    const { key, problem } = kmsKeyFor(definition.distribution.kmsKeyId, region);
    if (problem) problems.push(problem);
    const accounts =
      accountIds.length === 0
        ? {}
        : definition.distribution.mode === "copy"
          ? { TargetAccountIds: accountIds }
          : { LaunchPermissionConfiguration: { UserIds: accountIds } };
    return {
      Region: region,
      AmiDistributionConfiguration: {
        // Image Builder fills {{ imagebuilder:buildDate }}: AMI names are unique per region.
        Name: `${amiName}-{{ imagebuilder:buildDate }}`,
        ...accounts,
        ...(key === undefined ? {} : { KmsKeyId: key }),
        ...(definition.distribution.amiTags ? { AmiTags: definition.distribution.amiTags } : {}),
      },
    };
  });
  return { distributions, problems };
};
