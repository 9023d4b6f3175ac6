import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { rollByGroupUpdate } from "../../auto-scaling/group-update.ts";
import type { DiscoveredGroup } from "../../auto-scaling/groups.ts";
import {
  hasActiveRefresh,
  isRefusedForActiveRefresh,
  makeWayForOurRefresh,
  type RefreshMode,
  type RefreshStart,
  refreshModeOf,
  startInstanceRefresh,
} from "../../auto-scaling/instance-refresh.ts";
import { NO_OVERRIDE_IMAGES, type OverrideImagePlan } from "../../auto-scaling/override-images.ts";
import { isFloatingVersion, pointGroupAtVersion } from "../../auto-scaling/pin-version.ts";
import type { AccountConfig, RolloutConfig } from "../../config/schema.ts";
import { errorMessage, isRetryable } from "../../errors.ts";
import type { GroupRecord, TemplateRecord } from "../store/index.ts";

/**
 * Step 6 of a target (lib/rollout/roll-out-target.ts): one group's instance refresh to the new
 * template version, the way AWS allows for its shape, recorded before and after every mutating
 * call so a redelivery resumes instead of repeating.
 */

/** After this many waits on another refresh (about 4 hours), the group is reported as failed. */
export const MAX_REFRESH_WAITS = 48;

/** Why a group waits: another refresh runs on it, and ours waits for it or is cancelling it. */
export type RefreshWait = Exclude<RefreshStart, { status: "started" }>["status"];

/**
 * Points a group at a version of its template (the one it runs, before a refresh that needs the
 * group on a number; or the new one, for a group AWS only refreshes without a desired
 * configuration). Refused while a refresh with a desired configuration runs on the group ("An
 * active instance refresh with a desired configuration exists…", user guide,
 * instance-refresh-overview, "Limitations"): then the group waits for that refresh, or cancels
 * it with `whenInProgress: cancel`, exactly as for StartInstanceRefresh's
 * InstanceRefreshInProgress.
 */
export const pointGroup = async (
  client: AutoScalingClient,
  group: DiscoveredGroup,
  launchTemplateId: string,
  version: number,
  settings: Pick<RolloutConfig["instanceRefresh"], "whenInProgress">,
  images?: ReadonlyMap<string, string>,
): Promise<"pointed" | RefreshWait> => {
  try {
    await pointGroupAtVersion(client, group, launchTemplateId, String(version), images);
    return "pointed";
  } catch (error) {
    if (
      isRefusedForActiveRefresh(error) ||
      (!isRetryable(error) && (await hasActiveRefresh(client, group.name)))
    )
      return (await makeWayForOurRefresh(client, group.name, settings)).status;
    throw error;
  }
};

/** Group records a redelivery carries on from; any other status is that group's outcome. */
const RESUMABLE_GROUP_STATUSES: ReadonlySet<GroupRecord["status"]> = new Set([
  "waiting",
  "starting",
]);

/** Lambda's clock against Auto Scaling's, when a refresh is recognised by its start time. */
const CLOCK_SKEW_MS = 60_000;

export interface GroupOutcome {
  readonly group: string;
  readonly status: GroupRecord["status"] | "retry";
  readonly instanceRefreshId?: string;
  readonly previousVersion?: number;
  readonly newVersion?: number;
  readonly reason?: string;
}

/** One group's result, for the target's outcome (outcome.ts). */
export type GroupStepResult = GroupOutcome & {
  /** The transient error of a group to retry (`status: "retry"`). */
  readonly error?: unknown;
  /** What a waiting group waits for (`status: "waiting"`). */
  readonly waitingFor?: RefreshWait;
};

export const templateKey = (group: DiscoveredGroup): string =>
  `${group.launchTemplate?.launchTemplateId ?? group.launchTemplate?.launchTemplateName}@${group.launchTemplate?.version}`;

/** What a target's earlier steps found, for its groups' refreshes. */
export interface GroupStepContext {
  readonly work: { readonly rolloutId: string; readonly amiId: string; readonly region: string };
  /** How many times the target's message was re-enqueued to wait. */
  readonly attempt: number;
  readonly account: AccountConfig;
  readonly rollout: RolloutConfig;
  readonly autoScaling: AutoScalingClient;
  /** By template key (`templateKey`): the version each runs and the new one. */
  readonly templates: Readonly<Record<string, TemplateRecord>>;
  readonly templateErrors: ReadonlyMap<string, unknown>;
  /** Groups pinned to the version they run before our version existed (they followed $Latest). */
  readonly pinned: ReadonlySet<string>;
  /** Groups given up on while pinning, with why. */
  readonly gaveUp: ReadonlyMap<string, string>;
  readonly overridePlans: ReadonlyMap<string, OverrideImagePlan>;
  /** The group records earlier deliveries left. */
  readonly recorded: ReadonlyMap<string, GroupRecord>;
  readonly nowIso: () => string;
  readonly saveGroup: (group: GroupRecord) => Promise<void>;
}

export const refreshGroup = async (
  group: DiscoveredGroup,
  {
    work,
    attempt,
    account,
    rollout,
    autoScaling,
    templates,
    templateErrors,
    pinned,
    gaveUp,
    overridePlans,
    recorded,
    nowIso,
    saveGroup,
  }: GroupStepContext,
): Promise<GroupStepResult> => {
  const { region } = work;
  const previous = recorded.get(group.name);
  if (previous && !RESUMABLE_GROUP_STATUSES.has(previous.status)) return previous;
  const template = templates[templateKey(group)];
  const floating = isFloatingVersion(group.launchTemplate?.version)
    ? (group.launchTemplate?.version as "$Latest" | "$Default")
    : undefined;
  // Pinned by an earlier delivery: the group now names a number, but still "follows".
  const follows = floating ?? previous?.follows;
  const mode: RefreshMode = refreshModeOf(group);
  const images = (overridePlans.get(group.name) ?? NO_OVERRIDE_IMAGES).replacements;
  const base = {
    group: group.name,
    accountId: account.id,
    region,
    // Kept across the retry, so a group gets one extra refresh for a slow grant, never more.
    ...(previous?.grantRetried ? { grantRetried: true } : {}),
    // And the refresh that retry must not adopt, on the `starting` record too: a redelivery
    // after a crash before StartInstanceRefresh would otherwise take the failed one for ours.
    ...(previous?.previousRefreshId ? { previousRefreshId: previous.previousRefreshId } : {}),
    ...(follows ? { follows } : {}),
    ...(mode === "group-update" ? { rolledBy: mode } : {}),
    // After an earlier delivery updated the group, its overrides already name the new AMI and
    // nothing is left to swap: what was swapped is kept for a rollback.
    ...(images.size > 0
      ? { overrideImages: Object.fromEntries(images) }
      : previous?.overrideImages
        ? { overrideImages: previous.overrideImages }
        : {}),
  };
  // A group rolled by updating it first: when that was about to happen (its refresh is one
  // started since), and whether it happened (a rollback undoes only what was done). Carried
  // on every record of the group, since each save replaces the item.
  const update = {
    at:
      previous?.status === "starting" && previous.groupUpdatedAt
        ? previous.groupUpdatedAt
        : nowIso(),
    done: previous?.groupUpdated === true,
  };
  const baseOf = () => ({
    ...base,
    ...(mode === "group-update"
      ? { groupUpdatedAt: update.at, ...(update.done ? { groupUpdated: true } : {}) }
      : {}),
  });
  const givenUp = gaveUp.get(group.name);
  if (template?.versionNumber === undefined || givenUp) {
    const reason = givenUp ?? errorMessage(templateErrors.get(templateKey(group)));
    const failed = { ...baseOf(), status: "failed" as const, reason, updatedAt: nowIso() };
    await saveGroup(failed);
    return failed;
  }
  const newVersion = template.versionNumber;
  const versions = {
    launchTemplateId: template.launchTemplateId,
    previousVersion: template.sourceVersion,
    newVersion,
  };
  if (!template.created && images.size === 0 && rollout.instanceRefresh.skipMatching) {
    // The version in use already launches this AMI, and matching instances are skipped.
    const upToDate = {
      ...baseOf(),
      ...versions,
      status: "up-to-date" as const,
      updatedAt: nowIso(),
    };
    await saveGroup(upToDate);
    return upToDate;
  }
  try {
    // Recorded before the mutating calls: a redelivery after a crash here knows the pin
    // (never forgotten) and that a refresh may already exist (adopted, not started twice).
    await saveGroup({ ...baseOf(), ...versions, status: "starting", updatedAt: nowIso() });
    // Rollback is also refused while the group's template takes its AMI from an SSM
    // parameter (`resolve:ssm:...`; RefreshPreferences.AutoRollback in the API reference):
    // pinning cannot help, so such a group is refreshed without it, and says so.
    const ssmAmi = template.sourceImageId?.startsWith("resolve:ssm:") ?? false;
    const autoRollback =
      rollout.instanceRefresh.autoRollback && !ssmAmi && mode === "desired-configuration";
    const refreshTarget = {
      launchTemplateId: template.launchTemplateId,
      versionNumber: newVersion,
      images,
    };
    const settings = {
      ...rollout.instanceRefresh,
      autoRollback,
      // Rolling skip matching compares templates, versions and instance types (API model,
      // RefreshPreferences.SkipMatching): when only overrides' AMIs change, it would skip
      // every instance.
      skipMatching: rollout.instanceRefresh.skipMatching && (template.created ?? true),
    };
    const mayHaveStarted = previous?.status === "starting";
    const since = Date.parse(update.at) - CLOCK_SKEW_MS;
    let started: RefreshStart;
    if (mode === "group-update") {
      started = await rollByGroupUpdate(autoScaling, group, refreshTarget, settings, {
        since,
        mayHaveStarted,
        onPointed: () => {
          update.done = true;
          return saveGroup({
            ...baseOf(),
            ...versions,
            status: "starting",
            updatedAt: nowIso(),
          });
        },
      });
    } else {
      // Pinned first to the version it runs when it follows `$Latest`/`$Default`: AWS refuses
      // auto-rollback then, and ReplaceRootVolume altogether ("if the EC2 Auto Scaling group
      // or the instance refresh desired configuration uses the $Latest or $Default launch
      // template version", user guide, replace-root-volume, "Limitations"). No instance is
      // replaced by the pin.
      const pin =
        floating &&
        (autoRollback || rollout.instanceRefresh.strategy === "ReplaceRootVolume") &&
        !pinned.has(group.name)
          ? await pointGroup(
              autoScaling,
              group,
              template.launchTemplateId,
              template.sourceVersion,
              rollout.instanceRefresh,
            )
          : "pointed";
      started =
        pin !== "pointed"
          ? { status: pin }
          : await startInstanceRefresh(autoScaling, group, { ...refreshTarget, mode }, settings, {
              mayHaveStarted,
              // The failed refresh watch-rollouts chose to retry once (slow grant).
              ...(previous?.previousRefreshId ? { notAdopting: previous.previousRefreshId } : {}),
            });
    }
    if (started.status !== "started") {
      const waiting = attempt < MAX_REFRESH_WAITS;
      const reason = `${started.status}${waiting ? "" : ` for ${MAX_REFRESH_WAITS} attempts: giving up`}`;
      const result = {
        ...baseOf(),
        ...versions,
        status: waiting ? ("waiting" as const) : ("failed" as const),
        reason,
        updatedAt: nowIso(),
      };
      await saveGroup(result);
      return waiting ? { ...result, waitingFor: started.status } : result;
    }
    const notRolledBackByAws =
      mode === "group-update"
        ? "updated, then refreshed without a desired configuration (attribute-based instance types): AWS cannot roll it back, the orchestrator does"
        : ssmAmi && rollout.instanceRefresh.autoRollback
          ? `no auto-rollback: version ${template.sourceVersion} takes its AMI from an SSM parameter (${template.sourceImageId}), which AWS cannot roll back to`
          : undefined;
    const result = {
      ...baseOf(),
      ...versions,
      status: "refresh-started" as const,
      instanceRefreshId: started.instanceRefreshId,
      ...(notRolledBackByAws ? { reason: notRolledBackByAws } : {}),
      updatedAt: nowIso(),
    };
    await saveGroup(result);
    return result;
  } catch (error) {
    if (isRetryable(error))
      return { group: group.name, status: "retry", reason: errorMessage(error), error };
    const failed = {
      ...baseOf(),
      ...versions,
      status: "failed" as const,
      reason: errorMessage(error),
      updatedAt: nowIso(),
    };
    await saveGroup(failed);
    return failed;
  }
};
