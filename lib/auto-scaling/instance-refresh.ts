import {
  type AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
  type DesiredConfiguration,
  type MixedInstancesPolicy,
  type RefreshPreferences,
  StartInstanceRefreshCommand,
} from "@aws-sdk/client-auto-scaling";
import type { RolloutConfig } from "../config/schema.ts";
import { OrchestratorError } from "../errors.ts";
import type { DiscoveredGroup } from "./groups.ts";

export type InstanceRefreshSettings = RolloutConfig["instanceRefresh"];

/** Refresh preferences from the config, omitting what is unset so AWS defaults apply. */
export const refreshPreferences = (settings: InstanceRefreshSettings): RefreshPreferences => ({
  MinHealthyPercentage: settings.minHealthyPercentage,
  SkipMatching: settings.skipMatching,
  AutoRollback: settings.autoRollback,
  ...(settings.maxHealthyPercentage === undefined
    ? {}
    : { MaxHealthyPercentage: settings.maxHealthyPercentage }),
  ...(settings.instanceWarmup === undefined ? {} : { InstanceWarmup: settings.instanceWarmup }),
  ...(settings.checkpointPercentages === undefined
    ? {}
    : { CheckpointPercentages: settings.checkpointPercentages }),
  ...(settings.checkpointDelay === undefined ? {} : { CheckpointDelay: settings.checkpointDelay }),
  ...(settings.bakeTime === undefined ? {} : { BakeTime: settings.bakeTime }),
  ...(settings.alarms === undefined ? {} : { AlarmSpecification: { Alarms: settings.alarms } }),
  ...(settings.scaleInProtectedInstances === undefined
    ? {}
    : { ScaleInProtectedInstances: settings.scaleInProtectedInstances }),
  ...(settings.standbyInstances === undefined
    ? {}
    : { StandbyInstances: settings.standbyInstances }),
});

/**
 * The configuration the group must end up with: the template pinned to the new explicit version
 * (auto-rollback is refused for `$Latest`/`$Default`). A mixed-instances group gets its whole policy
 * back with the new version, including overrides that point at the same template; leaving the
 * policy out would make the group drop it.
 */
export const desiredConfiguration = (
  group: DiscoveredGroup,
  launchTemplateId: string,
  versionNumber: number,
): DesiredConfiguration => configurationWithVersion(group, launchTemplateId, String(versionNumber));

/**
 * The group's launch configuration with its template at `version` (a number, `$Latest` or
 * `$Default`): the top-level template, or the whole mixed instances policy with the template and
 * the overrides that name the same template. What a refresh's DesiredConfiguration and
 * UpdateAutoScalingGroup both take.
 */
export const configurationWithVersion = (
  group: DiscoveredGroup,
  launchTemplateId: string,
  version: string,
): DesiredConfiguration => {
  const pinned = { LaunchTemplateId: launchTemplateId, Version: version };
  const policy = group.mixedInstancesPolicy && policyToSendBack(group.mixedInstancesPolicy);
  if (!policy) return { LaunchTemplate: pinned };
  const sameTemplate = (spec?: {
    LaunchTemplateId?: string | undefined;
    LaunchTemplateName?: string | undefined;
  }) =>
    spec?.LaunchTemplateId === launchTemplateId ||
    (spec?.LaunchTemplateName !== undefined &&
      spec.LaunchTemplateName === group.launchTemplate?.launchTemplateName);
  return {
    MixedInstancesPolicy: {
      ...policy,
      LaunchTemplate: {
        ...policy.LaunchTemplate,
        LaunchTemplateSpecification: pinned,
        ...(policy.LaunchTemplate?.Overrides
          ? {
              Overrides: policy.LaunchTemplate.Overrides.map((override) =>
                sameTemplate(override.LaunchTemplateSpecification)
                  ? { ...override, LaunchTemplateSpecification: pinned }
                  : override,
              ),
            }
          : {}),
      },
    },
  };
};

export type RefreshStart =
  | {
      readonly status: "started";
      readonly instanceRefreshId: string;
      /** Already running with our configuration (a retry after a crash): not started twice. */
      readonly adopted?: boolean;
    }
  /** Another refresh is active and the policy is to wait: try again later. */
  | { readonly status: "waiting-for-active-refresh" }
  /** The active refresh was asked to cancel: start again once it has stopped. */
  | { readonly status: "cancelling-active-refresh" };

export class InstanceRefreshError extends OrchestratorError {}

export const startInstanceRefresh = async (
  client: AutoScalingClient,
  group: DiscoveredGroup,
  target: { launchTemplateId: string; versionNumber: number },
  settings: InstanceRefreshSettings,
  options: { mayHaveStarted?: boolean; notAdopting?: string } = {},
): Promise<RefreshStart> => {
  if (options.mayHaveStarted) {
    // An earlier delivery died around StartInstanceRefresh: its refresh may be running, or
    // already over (a redelivery can come after a short refresh succeeded, failed or was rolled
    // back). Adopt it, whatever its status, never start a second one to the same version: the
    // watcher judges its outcome. `notAdopting` is a failed refresh we chose to retry.
    const own = await refreshWithVersion(
      client,
      group.name,
      target,
      undefined,
      options.notAdopting,
    );
    if (own) return { status: "started", instanceRefreshId: own, adopted: true };
  }
  try {
    const { InstanceRefreshId } = await client.send(
      new StartInstanceRefreshCommand({
        AutoScalingGroupName: group.name,
        Strategy: "Rolling",
        DesiredConfiguration: desiredConfiguration(
          group,
          target.launchTemplateId,
          target.versionNumber,
        ),
        Preferences: refreshPreferences(settings),
      }),
    );
    if (!InstanceRefreshId)
      throw new InstanceRefreshError(`StartInstanceRefresh on ${group.name} returned no id`);
    return { status: "started", instanceRefreshId: InstanceRefreshId };
  } catch (error) {
    if (!(error instanceof Error && error.name === "InstanceRefreshInProgressFault")) throw error;
    const own = await activeRefreshWithVersion(client, group.name, target);
    if (own) return { status: "started", instanceRefreshId: own, adopted: true };
    if (settings.whenInProgress === "wait") return { status: "waiting-for-active-refresh" };
    try {
      await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: group.name }));
    } catch (cancelError) {
      // It finished between our two calls: nothing to cancel, start again next time.
      if (
        !(cancelError instanceof Error && cancelError.name === "ActiveInstanceRefreshNotFoundFault")
      )
        throw cancelError;
    }
    return { status: "cancelling-active-refresh" };
  }
};

const ACTIVE_STATUSES: ReadonlySet<string> = new Set(["Pending", "InProgress", "Baking"]);

/**
 * The id of the group's active refresh if it already rolls to this exact template version: ours,
 * started by an earlier delivery that crashed before recording it. Adopting it (instead of
 * waiting on it or, worse, cancelling it) is what makes the step safe to repeat.
 */
/** Whether the group has a refresh running now (ours or anyone's). */
export const hasActiveRefresh = async (
  client: AutoScalingClient,
  groupName: string,
): Promise<boolean> =>
  (await recentRefreshes(client, groupName)).some((refresh) =>
    ACTIVE_STATUSES.has(refresh.Status ?? ""),
  );

/** The group's latest few refreshes, newest first: where ours would be after a crash. */
const recentRefreshes = async (client: AutoScalingClient, groupName: string) =>
  (
    await client.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: groupName, MaxRecords: 5 }),
    )
  ).InstanceRefreshes ?? [];

/**
 * The policy as UpdateAutoScalingGroup and StartInstanceRefresh accept it back: Describe may
 * return `SpotInstancePools`, which is "valid only when the SpotAllocationStrategy is
 * lowest-price" (API model InstancesDistribution); echoing it otherwise is refused.
 */
export const policyToSendBack = (policy: MixedInstancesPolicy): MixedInstancesPolicy => {
  const distribution = policy.InstancesDistribution;
  if (
    !distribution ||
    distribution.SpotInstancePools === undefined ||
    distribution.SpotAllocationStrategy === undefined ||
    distribution.SpotAllocationStrategy === "lowest-price"
  )
    return policy;
  const { SpotInstancePools: _dropped, ...rest } = distribution;
  return { ...policy, InstancesDistribution: rest };
};

export const activeRefreshWithVersion = (
  client: AutoScalingClient,
  groupName: string,
  target: { launchTemplateId: string; versionNumber: number },
): Promise<string | undefined> => refreshWithVersion(client, groupName, target, ACTIVE_STATUSES);

const refreshWithVersion = async (
  client: AutoScalingClient,
  groupName: string,
  target: { launchTemplateId: string; versionNumber: number },
  statuses?: ReadonlySet<string>,
  excludedId?: string,
): Promise<string | undefined> => {
  const version = String(target.versionNumber);
  return (await recentRefreshes(client, groupName)).find((refresh) => {
    if (statuses && !statuses.has(refresh.Status ?? "")) return false;
    if (excludedId && refresh.InstanceRefreshId === excludedId) return false;
    const spec =
      refresh.DesiredConfiguration?.LaunchTemplate ??
      refresh.DesiredConfiguration?.MixedInstancesPolicy?.LaunchTemplate
        ?.LaunchTemplateSpecification;
    return spec?.LaunchTemplateId === target.launchTemplateId && spec.Version === version;
  })?.InstanceRefreshId;
};
