import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { discoverGroups } from "../auto-scaling/groups.ts";
import { startInstanceRefresh } from "../auto-scaling/instance-refresh.ts";
import { pointGroupAtVersion } from "../auto-scaling/pin-version.ts";
import type { RolloutConfig } from "../config/schema.ts";
import { OrchestratorError } from "../errors.ts";
import type { GroupRecord } from "./store.ts";

/**
 * The rollback AWS cannot do for a group rolled by updating it first (attribute-based instance
 * types: no desired configuration, so no auto-rollback, RefreshPreferences.AutoRollback): point
 * the group back at the version it ran, with its overrides' own AMIs put back, then refresh it
 * the same way. Returns the rollback refresh's id, or undefined when another refresh runs on the
 * group (tried again by the next poll).
 */
export const rollBackUpdatedGroup = async (
  client: AutoScalingClient,
  record: GroupRecord,
  rollout: Pick<RolloutConfig, "instanceRefresh"> | undefined,
  now: number,
): Promise<string | undefined> => {
  if (record.launchTemplateId === undefined || record.previousVersion === undefined)
    return undefined;
  const [group] = (await discoverGroups(client, { names: [record.group] })).groups;
  if (!group) throw new OrchestratorError(`group ${record.group} no longer exists`);
  // New AMI → the override's old one: exactly what the rollout swapped.
  const images = new Map(
    Object.entries(record.overrideImages ?? {}).map(([oldAmi, newAmi]) => [newAmi, oldAmi]),
  );
  await pointGroupAtVersion(
    client,
    group,
    record.launchTemplateId,
    String(record.previousVersion),
    images,
  );
  const settings = {
    minHealthyPercentage: 90,
    whenInProgress: "wait" as const,
    strategy: "Rolling" as const,
    ...rollout?.instanceRefresh,
    skipMatching: false,
    autoRollback: false,
  };
  const started = await startInstanceRefresh(
    client,
    group,
    {
      launchTemplateId: record.launchTemplateId,
      versionNumber: record.previousVersion,
      mode: "group-update",
    },
    settings,
    // A rollback refresh started by an earlier attempt that crashed is adopted, not repeated.
    { mayHaveStarted: true, startedSince: now - 60_000 },
  );
  return started.status === "started" ? started.instanceRefreshId : undefined;
};
