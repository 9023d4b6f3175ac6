import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { DiscoveredGroup } from "./groups.ts";
import {
  findOwnRefresh,
  hasActiveRefresh,
  type InstanceRefreshSettings,
  makeWayForOurRefresh,
  type RefreshStart,
  startInstanceRefresh,
} from "./instance-refresh.ts";
import { pointGroupAtVersion } from "./pin-version.ts";

/**
 * Rolls a group AWS refreshes only without a desired configuration (attribute-based instance
 * types, user guide instance-refresh-overview, "Limitations"): point the group at `version`
 * (its overrides' own AMIs swapped by `images`), then refresh it as it now is.
 *
 * In that order, and only when no refresh runs: AWS refuses the update only under a refresh
 * *with* a desired configuration, so under anyone's refresh without one the group would change
 * mid-refresh. A refresh of ours started since `since` (a delivery that crashed after starting
 * it) is adopted first, never waited on or cancelled. `onPointed` records that the group was
 * updated, so a rollback only undoes what was done.
 */
export const rollByGroupUpdate = async (
  client: AutoScalingClient,
  group: DiscoveredGroup,
  target: {
    readonly launchTemplateId: string;
    readonly versionNumber: number;
    readonly images?: ReadonlyMap<string, string>;
  },
  settings: InstanceRefreshSettings,
  options: { readonly since: number; readonly mayHaveStarted: boolean; onPointed(): Promise<void> },
): Promise<RefreshStart> => {
  const match = { ...target, mode: "group-update" as const, since: options.since };
  if (options.mayHaveStarted) {
    const own = await findOwnRefresh(client, group.name, match);
    if (own) return { status: "started", instanceRefreshId: own, adopted: true };
  }
  if (await hasActiveRefresh(client, group.name))
    return makeWayForOurRefresh(client, group.name, settings);
  await pointGroupAtVersion(
    client,
    group,
    target.launchTemplateId,
    String(target.versionNumber),
    target.images,
  );
  await options.onPointed();
  return startInstanceRefresh(client, group, match, settings);
};
