import {
  type DiscoveredGroup,
  defaultServiceLinkedRoleArn,
  discoverGroups,
  strategyRefusal,
} from "../../auto-scaling/groups.ts";
import { ensureDefaultServiceLinkedRole } from "../../auto-scaling/service-linked-role.ts";
import type { FoundGroups, TargetStep } from "./context.ts";

/**
 * Steps 1 and 2 of a target: the groups the selector matches, as they are now (read-only, so
 * repeated on each delivery), and the service-linked role each launches with.
 */

export interface Discovery {
  /** The groups that can be rolled with the configured strategy. */
  readonly groups: DiscoveredGroup[];
  readonly found: FoundGroups;
  /** Why there is nothing to roll, when `groups` is empty. */
  readonly nothingToRoll: string;
}

/** 1. The groups, as they are now; those the strategy cannot roll are reported, not rolled. */
export const discoverTargetGroups = async (step: TargetStep): Promise<Discovery> => {
  const discovery = await discoverGroups(
    step.clients.autoScaling(),
    step.rollout.autoScalingGroups,
  );
  const refused = discovery.groups.flatMap((group) => {
    const reason = strategyRefusal(group, step.rollout.instanceRefresh.strategy);
    return reason ? [{ name: group.name, reason }] : [];
  });
  return {
    groups: discovery.groups.filter(
      (group) => !refused.some((refusal) => refusal.name === group.name),
    ),
    found: {
      unsupportedGroups: [...discovery.unsupported, ...refused],
      missingGroups: discovery.missing,
    },
    nothingToRoll:
      discovery.groups.length === 0
        ? "no Auto Scaling group matches the selector"
        : "no group matching the selector can be rolled",
  };
};

/**
 * 2. Service-linked roles: each group's own (custom suffixes exist); the default one, created if
 * it does not exist yet, for a group that has none.
 */
export const withServiceLinkedRoles = async (
  step: TargetStep,
  groups: DiscoveredGroup[],
): Promise<DiscoveredGroup[]> => {
  if (!groups.some((group) => !group.serviceLinkedRoleArn)) return groups;
  const outcome = await ensureDefaultServiceLinkedRole(step.clients.iam());
  if (outcome === "created")
    step.notes.push("created the AWSServiceRoleForAutoScaling service-linked role");
  const fallback = defaultServiceLinkedRoleArn(step.account.id);
  return groups.map((group) => ({
    ...group,
    serviceLinkedRoleArn: group.serviceLinkedRoleArn ?? fallback,
  }));
};
