import type { DiscoveredGroup } from "../../auto-scaling/groups.ts";
import { refreshModeOf } from "../../auto-scaling/instance-refresh.ts";
import {
  ACTIVE_REFRESH_RETRY_SECONDS,
  CANCELLING_REFRESH_RETRY_SECONDS,
  type Requeue,
  type TargetStep,
} from "./context.ts";
import { MAX_REFRESH_WAITS, pointGroup, templateKey } from "./refresh-group.ts";
import type { Templates } from "./templates.ts";

/**
 * Step 5c of a target: a group that follows `$Latest` would launch our new version the moment it
 * exists: before its refresh, and still after a failed or rolled-back one. It is pinned first to
 * the version it runs (recorded before the call, so the pin is never forgotten). While another
 * refresh runs on such a group, no version is created: the target waits, and after
 * MAX_REFRESH_WAITS attempts gives up on that group alone.
 */

export interface Pins {
  /** Groups pinned to the version they run before our version existed. */
  readonly pinned: Set<string>;
  /** Groups given up on while pinning, with why (they are reported failed). */
  readonly gaveUp: Map<string, string>;
}

export const pinLatestGroups = async (
  step: TargetStep,
  groups: readonly DiscoveredGroup[],
  templates: Templates,
): Promise<Pins | { readonly requeue: Requeue }> => {
  const { account, work, rollout } = step;
  const pinned = new Set<string>();
  const gaveUp = new Map<string, string>();
  for (const group of groups) {
    const template = templates.records[templateKey(group)];
    if (
      group.launchTemplate?.version !== "$Latest" ||
      !template ||
      template.sourceImageId === work.amiId ||
      refreshModeOf(group) === "group-update"
    )
      continue;
    await step.saveGroup({
      group: group.name,
      accountId: account.id,
      region: work.region,
      status: "starting",
      follows: "$Latest",
      launchTemplateId: template.launchTemplateId,
      previousVersion: template.sourceVersion,
      updatedAt: step.nowIso(),
    });
    const pin = await pointGroup(
      step.clients.autoScaling(),
      group,
      template.launchTemplateId,
      template.sourceVersion,
      rollout.instanceRefresh,
    );
    if (pin !== "pointed") {
      if (step.attempt >= MAX_REFRESH_WAITS) {
        // Given up on this group: it is reported failed; the others go on.
        gaveUp.set(
          group.name,
          `${pin} for ${MAX_REFRESH_WAITS} attempts: giving up (it follows $Latest and another instance refresh kept running on it)`,
        );
        continue;
      }
      const cancelling = pin === "cancelling-active-refresh";
      return {
        requeue: {
          targetStatus: "waiting-for-refresh",
          countsAsAttempt: true,
          delaySeconds: cancelling
            ? CANCELLING_REFRESH_RETRY_SECONDS
            : ACTIVE_REFRESH_RETRY_SECONDS,
          reason: `${group.name} follows $Latest and another instance refresh is running on it${cancelling ? " (cancelled, as configured)" : ""}`,
        },
      };
    }
    pinned.add(group.name);
  }
  return { pinned, gaveUp };
};
