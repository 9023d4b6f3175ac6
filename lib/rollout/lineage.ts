import { MAX_DISTRIBUTIONS } from "../events/image-state.ts";
import type { ImageFromGetImage } from "../image-builder/get-image.ts";
import { TAG } from "../pipelines/names.ts";

/**
 * Where a rollout's image comes from, for `npm run rollout -- status` (docs/pipelines.md,
 * "Lineage"): the commit, ref and repository `build --changed` tagged the image with (or, for a
 * scheduled or manual build of a managed pipeline, the commit its recipe's definitions came from),
 * the recipe version, and the AMIs per region. Read from GetImage at intake and stored on the
 * rollout record, so it is bounded whatever the fleet: counts per region and a sample, never the
 * list; the template versions and groups are the rollout's own items, shown below it.
 */

export interface RegionAmis {
  readonly region: string;
  readonly count: number;
  /** The first AMI ids of the region (at most LINEAGE_SAMPLE). */
  readonly sample: readonly string[];
}

export interface RolloutLineage {
  readonly commit?: string;
  /** `image`: the build was started for this commit; `recipe`: the definitions' last commit. */
  readonly commitFrom?: "image" | "recipe";
  readonly ref?: string;
  readonly repository?: string;
  readonly inputHash?: string;
  readonly recipe?: { readonly arn: string; readonly name?: string; readonly version?: string };
  readonly amis: {
    readonly total: number;
    /** The first LINEAGE_REGIONS regions, by name. */
    readonly regions: readonly RegionAmis[];
  };
}

/**
 * AMI ids kept per region, and regions kept (every region a distribution configuration can
 * name): a record's size must not grow with the fleet.
 */
export const LINEAGE_SAMPLE = 2;
export const LINEAGE_REGIONS = MAX_DISTRIBUTIONS;
/** API model `TagValue`: at most 256 characters; anything longer was not written by us. */
const MAX_VALUE = 256;

const value = (text: string | undefined): string | undefined =>
  text === undefined || text === "" ? undefined : text.slice(0, MAX_VALUE);

export const lineageOf = (image: ImageFromGetImage): RolloutLineage => {
  const tags = image.tags ?? {};
  const recipeCommit = value(image.recipe?.tags?.[TAG.commit]);
  const imageCommit = value(tags[TAG.commit]);
  const commit = imageCommit ?? recipeCommit;
  const byRegion = new Map<string, string[]>();
  for (const ami of image.amis)
    byRegion.set(ami.region, [...(byRegion.get(ami.region) ?? []), ami.image]);
  const optional = (key: string, text: string | undefined) => (text ? { [key]: text } : {});
  return {
    ...optional("commit", commit),
    ...(commit ? { commitFrom: imageCommit ? "image" : "recipe" } : {}),
    ...optional("ref", value(tags[TAG.ref])),
    ...optional("repository", value(tags[TAG.repository])),
    ...optional("inputHash", value(tags[TAG.inputHash])),
    ...(image.recipe
      ? {
          recipe: {
            arn: image.recipe.arn,
            ...optional("name", value(image.recipe.name)),
            ...optional("version", value(image.recipe.version)),
          },
        }
      : {}),
    amis: {
      total: image.amis.length,
      regions: [...byRegion]
        .sort(([a], [b]) => a.localeCompare(b))
        .slice(0, LINEAGE_REGIONS)
        .map(([region, ids]) => ({
          region,
          count: ids.length,
          sample: ids.slice(0, LINEAGE_SAMPLE),
        })),
    },
  };
};

const count = (n: number) => n.toLocaleString("en");

/**
 * The lineage as status shows it, under the rollout's first line:
 *   lineage: commit 3f2a9c1d0e4b (refs/heads/main, https://github.com/acme/images) → recipe base-al2023 1.0.1 → image base-al2023/1.0.1/1
 *            → 3 AMIs: eu-west-1 2 (ami-0…, ami-0…) · eu-west-3 1 (ami-0…) → template versions → groups (below)
 */
export const lineageLines = (lineage: RolloutLineage, imageName: string): string[] => {
  const where = [lineage.ref, lineage.repository].filter(Boolean).join(", ");
  const commit = lineage.commit
    ? `commit ${lineage.commit.slice(0, 12)}${lineage.commitFrom === "recipe" ? " (of the definitions; the build was not started from a commit)" : where ? ` (${where})` : ""}`
    : "commit unknown (no ami-orchestrator:commit tag)";
  const recipe = lineage.recipe
    ? `recipe ${lineage.recipe.name ?? lineage.recipe.arn.split(":image-recipe/")[1] ?? lineage.recipe.arn}${lineage.recipe.version ? ` ${lineage.recipe.version}` : ""}`
    : "recipe unknown";
  const shownRegions = lineage.amis.regions.reduce((sum, region) => sum + region.count, 0);
  const regions = lineage.amis.regions.map((region) => {
    const more = region.count - region.sample.length;
    return `${region.region} ${count(region.count)} (${region.sample.join(", ")}${more > 0 ? `, ${count(more)} more` : ""})`;
  });
  const rest = lineage.amis.total - shownRegions;
  return [
    `  lineage: ${commit} → ${recipe} → image ${imageName}`,
    `           → ${count(lineage.amis.total)} AMI(s): ${regions.join(" · ") || "none"}${rest > 0 ? ` · ${count(rest)} in other regions` : ""} → template versions → groups (below)`,
  ];
};
