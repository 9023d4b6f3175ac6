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
  images: ReadonlyMap<string, string> = new Map(),
): DesiredConfiguration =>
  configurationWithVersion(group, launchTemplateId, String(versionNumber), images);

/**
 * The group's launch configuration with its template at `version` (a number, `$Latest` or
 * `$Default`): the top-level template, or the whole mixed instances policy with the template and
 * the overrides that name the same template, and each override's own `ImageId` swapped where
 * `images` maps it (old AMI → new). What a refresh's DesiredConfiguration and
 * UpdateAutoScalingGroup both take.
 */
export const configurationWithVersion = (
  group: DiscoveredGroup,
  launchTemplateId: string,
  version: string,
  images: ReadonlyMap<string, string> = new Map(),
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
              Overrides: policy.LaunchTemplate.Overrides.map((override) => {
                const image = override.ImageId && images.get(override.ImageId);
                const withImage = image ? { ...override, ImageId: image } : override;
                return sameTemplate(override.LaunchTemplateSpecification)
                  ? { ...withImage, LaunchTemplateSpecification: pinned }
                  : withImage;
              }),
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

/**
 * How a group is refreshed:
 * - `desired-configuration`: the refresh carries the new configuration (AWS moves the group to
 *   it on success and can roll it back);
 * - `group-update`: the group is pointed at the new version first (UpdateAutoScalingGroup), then
 *   refreshed without a desired configuration or skip matching, the only way AWS refreshes a
 *   group with attribute-based instance type selection (user guide, instance-refresh-overview,
 *   "Limitations"). AWS cannot roll such a refresh back: the rollback is ours (the previous
 *   version, then a refresh).
 */
export type RefreshMode = "desired-configuration" | "group-update";

export const refreshModeOf = (group: Pick<DiscoveredGroup, "attributeBased">): RefreshMode =>
  group.attributeBased ? "group-update" : "desired-configuration";

export interface RefreshTarget {
  readonly launchTemplateId: string;
  readonly versionNumber: number;
  /** Override AMIs replaced by the new one (old → new). */
  readonly images?: ReadonlyMap<string, string>;
  readonly mode?: RefreshMode;
}

/** What StartInstanceRefresh is sent for a group, by its mode. */
export const refreshRequest = (
  group: DiscoveredGroup,
  target: RefreshTarget,
  settings: InstanceRefreshSettings,
) =>
  target.mode === "group-update"
    ? {
        AutoScalingGroupName: group.name,
        Strategy: settings.strategy,
        // Not even `false`: "An instance refresh will fail if you start it with the
        // SkipMatching parameter […] start the instance refresh without these parameters" (user
        // guide, instance-refresh-overview, "Limitations"); AutoRollback needs a desired
        // configuration (RefreshPreferences.AutoRollback).
        Preferences: withoutKeys(refreshPreferences(settings), ["SkipMatching", "AutoRollback"]),
      }
    : {
        AutoScalingGroupName: group.name,
        Strategy: settings.strategy,
        DesiredConfiguration: desiredConfiguration(
          group,
          target.launchTemplateId,
          target.versionNumber,
          target.images,
        ),
        Preferences: refreshPreferences(settings),
      };

const withoutKeys = <T extends object>(value: T, keys: ReadonlyArray<keyof T>): T =>
  Object.fromEntries(Object.entries(value).filter(([key]) => !keys.includes(key as keyof T))) as T;

export const startInstanceRefresh = async (
  client: AutoScalingClient,
  group: DiscoveredGroup,
  target: RefreshTarget,
  settings: InstanceRefreshSettings,
  options: {
    mayHaveStarted?: boolean;
    notAdopting?: string;
    /** A group-update refresh has no desired configuration: ours is the one started since. */
    startedSince?: number;
  } = {},
): Promise<RefreshStart> => {
  const match = { ...target, ...(options.startedSince ? { since: options.startedSince } : {}) };
  if (options.mayHaveStarted) {
    // An earlier delivery died around StartInstanceRefresh: its refresh may be running, or
    // already over (a redelivery can come after a short refresh succeeded, failed or was rolled
    // back). Adopt it, whatever its status, never start a second one to the same version: the
    // watcher judges its outcome. `notAdopting` is a failed refresh we chose to retry.
    const own = await refreshWithVersion(client, group.name, match, undefined, options.notAdopting);
    if (own) return { status: "started", instanceRefreshId: own, adopted: true };
  }
  try {
    const { InstanceRefreshId } = await client.send(
      new StartInstanceRefreshCommand(refreshRequest(group, target, settings)),
    );
    if (!InstanceRefreshId)
      throw new InstanceRefreshError(`StartInstanceRefresh on ${group.name} returned no id`);
    return { status: "started", instanceRefreshId: InstanceRefreshId };
  } catch (error) {
    if (!(error instanceof Error && error.name === "InstanceRefreshInProgressFault")) throw error;
    const own = await activeRefreshWithVersion(client, group.name, match);
    if (own) return { status: "started", instanceRefreshId: own, adopted: true };
    return makeWayForOurRefresh(client, group.name, settings);
  }
};

/**
 * Another refresh (anyone's) runs on the group: wait for it, or, with `whenInProgress: cancel`,
 * cancel it and start ours once it has stopped. One already cancelling is simply waited for.
 */
export const makeWayForOurRefresh = async (
  client: AutoScalingClient,
  groupName: string,
  settings: Pick<InstanceRefreshSettings, "whenInProgress">,
): Promise<Exclude<RefreshStart, { status: "started" }>> => {
  if (settings.whenInProgress === "wait") return { status: "waiting-for-active-refresh" };
  // Only a refresh that is replacing instances is cancelled. A rollback in progress (AWS's own
  // auto-rollback among them) would be left half done, "this does not roll back any changes"
  // (API reference, CancelInstanceRefresh); one baking has replaced everything and saves its
  // configuration only on success; one cancelling is on its way out. Those are waited for.
  const active = (await recentRefreshes(client, groupName)).find((refresh) =>
    isActiveRefreshStatus(refresh.Status),
  );
  if (active && active.Status !== "Pending" && active.Status !== "InProgress")
    return { status: "waiting-for-active-refresh" };
  try {
    await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: groupName }));
  } catch (cancelError) {
    // It finished (or is already cancelling) between our two calls: start again next time.
    if (
      !(cancelError instanceof Error && cancelError.name === "ActiveInstanceRefreshNotFoundFault")
    )
      throw cancelError;
  }
  return { status: "cancelling-active-refresh" };
};

/**
 * Statuses after which a refresh changes no more (API model, InstanceRefreshStatus); every other
 * one (Pending, InProgress, Baking, Cancelling, RollbackInProgress, and any AWS adds) is active.
 */
const ENDED_STATUSES: ReadonlySet<string> = new Set([
  "Successful",
  "Failed",
  "Cancelled",
  "RollbackFailed",
  "RollbackSuccessful",
]);

export const isActiveRefreshStatus = (status: string | undefined): boolean =>
  status !== undefined && !ENDED_STATUSES.has(status);

/**
 * UpdateAutoScalingGroup refused because a refresh with a desired configuration runs: "An active
 * instance refresh with a desired configuration exists…" (user guide, instance-refresh-overview,
 * "Limitations"). Recognised by its code and its words, so no other ValidationError is taken for
 * a busy group.
 */
export const isRefusedForActiveRefresh = (error: unknown): boolean =>
  error instanceof Error &&
  error.name === "ValidationError" &&
  /active instance refresh/i.test(error.message);

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
    isActiveRefreshStatus(refresh.Status),
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

type RefreshMatch = RefreshTarget & { readonly since?: number };

/** Our refresh of the group to this target, whatever its status (a crash may hide it). */
export const findOwnRefresh = (
  client: AutoScalingClient,
  groupName: string,
  target: RefreshMatch,
): Promise<string | undefined> => refreshWithVersion(client, groupName, target);

export const activeRefreshWithVersion = (
  client: AutoScalingClient,
  groupName: string,
  target: RefreshMatch,
): Promise<string | undefined> => refreshWithVersion(client, groupName, target, true);

const refreshWithVersion = async (
  client: AutoScalingClient,
  groupName: string,
  target: RefreshMatch,
  activeOnly?: boolean,
  excludedId?: string,
): Promise<string | undefined> => {
  const version = String(target.versionNumber);
  return (await recentRefreshes(client, groupName)).find((refresh) => {
    if (activeOnly && !isActiveRefreshStatus(refresh.Status)) return false;
    if (excludedId && refresh.InstanceRefreshId === excludedId) return false;
    if (target.mode === "group-update") {
      // No desired configuration to recognise it by: ours is the one without, started since we
      // pointed the group at the new version.
      return (
        !refresh.DesiredConfiguration?.LaunchTemplate &&
        !refresh.DesiredConfiguration?.MixedInstancesPolicy &&
        target.since !== undefined &&
        // A refresh still Pending may carry no StartTime yet (not documented either way).
        (refresh.StartTime === undefined
          ? refresh.Status === "Pending"
          : refresh.StartTime.getTime() >= target.since)
      );
    }
    const spec =
      refresh.DesiredConfiguration?.LaunchTemplate ??
      refresh.DesiredConfiguration?.MixedInstancesPolicy?.LaunchTemplate
        ?.LaunchTemplateSpecification;
    return spec?.LaunchTemplateId === target.launchTemplateId && spec.Version === version;
  })?.InstanceRefreshId;
};
