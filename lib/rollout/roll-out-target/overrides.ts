import type { DiscoveredGroup } from "../../auto-scaling/groups.ts";
import {
  describeImageFacts,
  type OverrideImagePlan,
  planOverrideImages,
} from "../../auto-scaling/override-images.ts";
import type { RolloutStore } from "../store/index.ts";
import type { FoundGroups, TargetStep, TargetWork } from "./context.ts";
import { templateKey } from "./refresh-group.ts";
import type { Templates } from "./templates.ts";

/**
 * Step 5b of a target: AMIs that overrides name themselves, judged once per target in one call:
 * replaced when they are earlier images of this pipeline (the group's own template AMI, or an
 * AMI our records show this pipeline rolled out here, or one Image Builder tagged as this
 * recipe's), left alone when they are another's, and the group not rolled at all when the new
 * AMI cannot replace them (another architecture) or, with ReplaceRootVolume, when no override is
 * ours.
 */

/** How many earlier rollouts of the pipeline tell which override AMIs are its own. */
const EARLIER_ROLLOUTS = 5;

/**
 * The AMIs this pipeline rolled out to this target before, from our own records: an override
 * naming one launches an earlier image of the pipeline, even where its tags are not visible
 * (tags of a shared AMI are not: EC2 user guide, sharingamis-explicit).
 */
const earlierAmisOfPipeline = async (
  store: RolloutStore,
  work: TargetWork,
): Promise<Set<string>> => {
  const ids = await store.pipelines.latest(work.pipeline, EARLIER_ROLLOUTS + 1);
  const targets = await Promise.all(
    ids.filter((id) => id !== work.rolloutId).map((id) => store.targets.get(id, work)),
  );
  return new Set(targets.flatMap((target) => (target?.amiId ? [target.amiId] : [])));
};

export interface OverridePlans {
  /** The groups still rolled. */
  readonly groups: DiscoveredGroup[];
  /** By group name: which override AMIs are replaced by the new one. */
  readonly plans: Map<string, OverrideImagePlan>;
  /** With the groups refused here added to the unsupported ones. */
  readonly found: FoundGroups;
}

/**
 * The plan of each group's overrides. Refused groups are recorded as unsupported on the target,
 * and their templates get no new version unless a group still rolled uses them.
 */
export const planOverrides = async (
  step: TargetStep,
  groups: DiscoveredGroup[],
  templates: Templates,
  found: FoundGroups,
): Promise<OverridePlans> => {
  const plans = new Map<string, OverrideImagePlan>();
  const overrideImageIds = [...new Set(groups.flatMap((group) => group.overrideImageIds))];
  if (overrideImageIds.length === 0) return { groups, plans, found };
  const { work } = step;
  const [facts, earlier] = await Promise.all([
    describeImageFacts(step.clients.ec2(), [work.amiId, ...overrideImageIds]),
    earlierAmisOfPipeline(step.store, work),
  ]);
  const refused: Array<{ name: string; reason: string }> = [];
  for (const group of groups) {
    const own = templates.records[templateKey(group)]?.sourceImageId;
    const plan = planOverrideImages(
      group,
      work,
      new Set([...earlier, ...(own ? [own] : [])]),
      facts,
    );
    plans.set(group.name, plan);
    for (const kept of plan.kept) step.notes.push(`${group.name}: ${kept.reason}`);
    if (plan.blocked.length > 0)
      refused.push({ name: group.name, reason: plan.blocked.map((b) => b.reason).join("; ") });
    else if (
      step.rollout.instanceRefresh.strategy === "ReplaceRootVolume" &&
      plan.replacements.size === 0
    )
      // Every override names its AMI, so the template's is never launched: a refresh would
      // replace every root volume with the AMI it already has.
      refused.push({
        name: group.name,
        reason:
          "ReplaceRootVolume: no override launches an image of this pipeline, so there is nothing to replace",
      });
  }
  if (refused.length === 0) return { groups, plans, found };
  const names = new Set(refused.map((group) => group.name));
  const rolled = groups.filter((group) => !names.has(group.name));
  for (const key of [...templates.references.keys()])
    if (!rolled.some((group) => templateKey(group) === key)) templates.references.delete(key);
  const unsupportedGroups = [...found.unsupportedGroups, ...refused];
  await step.saveTarget({ unsupportedGroups });
  return { groups: rolled, plans, found: { ...found, unsupportedGroups } };
};
