import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { AccountConfig } from "../config/schema.ts";
import type { InstanceRefreshEvent, InstanceRefreshOutcome } from "../events/instance-refresh.ts";
import { type AdvanceDeps, type AdvanceOutcome, advanceRollout } from "./advance.ts";
import { requeueTarget, targetMessage } from "./dispatch.ts";
import { settleEndedGroups } from "./settle.ts";
import { createRolloutStore, type GroupStatus, TERMINAL_REFRESH_STATUSES } from "./store/index.ts";
import { recordTargetOutcome } from "./wave-progress.ts";

export interface WatchDeps extends AdvanceDeps {
  /** Auto Scaling in a target account (through its assumed role). */
  readonly autoScaling: (account: AccountConfig, region: string) => AutoScalingClient;
  /** EC2 in a target account: the template's default version once a refresh succeeded. */
  readonly ec2: (account: AccountConfig, region: string) => EC2Client;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_REFRESH_STATUSES);

/** The refresh status an event reports, as DescribeInstanceRefreshes would. */
const EVENT_STATUS: Record<InstanceRefreshOutcome, string> = {
  Started: "InProgress",
  "Checkpoint Reached": "InProgress",
  Succeeded: "Successful",
  Failed: "Failed",
  Cancelled: "Cancelled",
  "Rollback Started": "RollbackInProgress",
  "Rollback Succeeded": "RollbackSuccessful",
  "Rollback Failed": "RollbackFailed",
};

/** Our view of a group from its refresh's status. */
export const groupStatusOf = (refreshStatus: string): GroupStatus => {
  switch (refreshStatus) {
    case "Successful":
      return "succeeded";
    case "Failed":
      return "failed";
    case "Cancelled":
      return "cancelled";
    case "RollbackSuccessful":
    case "RollbackFailed":
      return "rolled-back";
    default:
      return "refresh-started";
  }
};

export type RefreshEventOutcome =
  | { readonly outcome: "not-ours"; readonly instanceRefreshId: string }
  | {
      readonly outcome: "recorded" | "already-recorded";
      readonly rolloutId: string;
      readonly group: string;
      readonly refreshStatus: string;
      readonly advance: AdvanceOutcome;
    };

/**
 * One forwarded instance-refresh event: record the outcome on the group (forward only, so a
 * duplicate, a late event or the poll having got there first changes nothing) and move the
 * rollout on.
 */
export const applyRefreshEvent = async (
  event: InstanceRefreshEvent,
  deps: WatchDeps,
): Promise<RefreshEventOutcome> => {
  const store = createRolloutStore(deps.db, deps.table);
  const owner = await store.refreshes.find(event.accountId, event.region, event.instanceRefreshId);
  if (!owner) return { outcome: "not-ours", instanceRefreshId: event.instanceRefreshId };
  const refreshStatus = EVENT_STATUS[event.outcome];
  const now = new Date(deps.clock.now()).toISOString();
  const changed = await store.groups.updateRefresh(
    owner.rolloutId,
    {
      group: owner.group,
      accountId: event.accountId,
      region: event.region,
      instanceRefreshId: event.instanceRefreshId,
    },
    {
      refreshStatus,
      status: groupStatusOf(refreshStatus),
      ...(event.statusReason ? { statusReason: event.statusReason } : {}),
      // The bake starts when we learn the refresh ended, on our clock: the event's `time` is
      // whatever its sender wrote, and one dated yesterday must not end a bake.
      ...(TERMINAL.has(refreshStatus) ? { finishedAt: now } : {}),
    },
    now,
  );
  // Only this event's target is read (its record and groups), never the whole rollout: the work
  // per event stays the same whatever the fleet (issue 20).
  const where = { accountId: event.accountId, region: event.region };
  if (changed) await retryIfGrantNotPropagated(owner.rolloutId, deps, where);
  if (changed && TERMINAL.has(refreshStatus)) {
    const state = await store.rollouts.loadTarget(owner.rolloutId, where);
    if (state) await settleEndedGroups(state, deps);
  }
  // Also when unchanged: a retried event after a crash right after the group was recorded.
  if (changed || TERMINAL.has(refreshStatus))
    await recordTargetOutcome(deps.db, deps.table, owner.rolloutId, where, now);
  return {
    outcome: changed ? "recorded" : "already-recorded",
    rolloutId: owner.rolloutId,
    group: owner.group,
    refreshStatus,
    advance: await advanceRollout(owner.rolloutId, deps),
  };
};

/** What a launch into a snapshot key the group's role cannot use yet looks like. */
const LAUNCH_KEY_FAILURE = /Client\.InternalError|KMS|kms/;

/**
 * A refresh whose instances failed to launch with `Client.InternalError` right after we created
 * the KMS grant is, almost always, the grant not having reached EC2 yet (it can take longer than
 * `grantPropagationSeconds`). Such a group gets one more refresh, after another propagation
 * delay, instead of failing the rollout: its record goes back to "waiting" and the target is
 * re-enqueued; roll-out-target starts the refresh again from the recorded steps. Only once per
 * group, and only for targets that created grants.
 */
export const retryIfGrantNotPropagated = async (
  rolloutId: string,
  deps: WatchDeps,
  /** Only this target (an event's): its record and groups are read, not the whole rollout. */
  only?: { readonly accountId: string; readonly region: string },
): Promise<string[]> => {
  const store = createRolloutStore(deps.db, deps.table);
  const state = only
    ? await store.rollouts.loadTarget(rolloutId, only)
    : await store.rollouts.load(rolloutId);
  if (state?.record.status !== "in-progress") return [];
  const pipeline = deps.config.pipelines.find((p) => p.name === state.record.pipeline);
  const retried: string[] = [];
  for (const target of state.targets) {
    if (!target.grants?.length) continue;
    const failed = state.groups.filter(
      (group) =>
        group.accountId === target.accountId &&
        group.region === target.region &&
        (group.status === "failed" || group.status === "rolled-back") &&
        group.instanceRefreshId &&
        !group.grantRetried &&
        LAUNCH_KEY_FAILURE.test(group.reason ?? ""),
    );
    if (failed.length === 0) continue;
    const now = new Date(deps.clock.now()).toISOString();
    for (const group of failed) {
      if (await store.groups.resetForRetry(rolloutId, group, now)) retried.push(group.group);
    }
    await store.targets.update(rolloutId, target, { status: "waiting-for-refresh" }, now);
    await requeueTarget(
      deps.sqs,
      deps.queueUrl,
      targetMessage(state.record, target),
      pipeline?.rollout?.grantPropagationSeconds ?? 300,
    );
  }
  return retried;
};
