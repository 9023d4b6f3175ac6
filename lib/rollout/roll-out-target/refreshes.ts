import pMap from "p-map";
import type { DiscoveredGroup } from "../../auto-scaling/groups.ts";
import type { OverrideImagePlan } from "../../auto-scaling/override-images.ts";
import type { TargetStep } from "./context.ts";
import type { Pins } from "./pin-latest.ts";
import { type GroupStepResult, refreshGroup } from "./refresh-group.ts";
import type { Templates } from "./templates.ts";

/**
 * Step 6 of a target: an instance refresh per group, to the new version, a few groups at a time
 * (refresh-group.ts does one), carrying on from the group records earlier deliveries left.
 */
export const refreshTargetGroups = async (
  step: TargetStep,
  groups: readonly DiscoveredGroup[],
  earlier: {
    readonly templates: Templates;
    readonly pins: Pins;
    readonly overridePlans: ReadonlyMap<string, OverrideImagePlan>;
  },
): Promise<GroupStepResult[]> => {
  const { work } = step;
  const recorded = new Map(
    (await step.store.groups.list(work.rolloutId, work)).map((group) => [group.group, group]),
  );
  const autoScaling = step.clients.autoScaling();
  return pMap(
    groups,
    (group) =>
      refreshGroup(group, {
        work,
        attempt: step.attempt,
        account: step.account,
        rollout: step.rollout,
        autoScaling,
        templates: earlier.templates.records,
        templateErrors: earlier.templates.errors,
        pinned: earlier.pins.pinned,
        gaveUp: earlier.pins.gaveUp,
        overridePlans: earlier.overridePlans,
        recorded,
        nowIso: step.nowIso,
        saveGroup: step.saveGroup,
      }),
    { concurrency: step.groupConcurrency },
  );
};
