import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { rollByGroupUpdate } from "../auto-scaling/group-update.ts";
import { discoverGroups } from "../auto-scaling/groups.ts";
import type { RolloutConfig } from "../config/schema.ts";
import { OrchestratorError } from "../errors.ts";
import type { GroupRecord } from "./store/index.ts";

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
  /** When this rollback was first attempted (less clock skew): its refresh is one started since. */
  since: number,
): Promise<string | undefined> => {
  if (record.launchTemplateId === undefined || record.previousVersion === undefined)
    return undefined;
  const [group] = (await discoverGroups(client, { names: [record.group] })).groups;
  if (!group) throw new OrchestratorError(`group ${record.group} no longer exists`);
  // New AMI → the override's old one: exactly what the rollout swapped.
  const images = new Map(
    Object.entries(record.overrideImages ?? {}).map(([oldAmi, newAmi]) => [newAmi, oldAmi]),
  );
  const settings = {
    minHealthyPercentage: 90,
    strategy: "Rolling" as const,
    ...rollout?.instanceRefresh,
    // Never cancel anyone's refresh (our own rollback's included) to roll back: wait for it.
    whenInProgress: "wait" as const,
    skipMatching: false,
    autoRollback: false,
  };
  const started = await rollByGroupUpdate(
    client,
    group,
    { launchTemplateId: record.launchTemplateId, versionNumber: record.previousVersion, images },
    settings,
    { since, mayHaveStarted: true, onPointed: async () => {} },
  );
  return started.status === "started" ? started.instanceRefreshId : undefined;
};
