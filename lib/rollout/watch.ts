import {
  type AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import pMap from "p-map";
import type { AccountConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import type { InstanceRefreshEvent, InstanceRefreshOutcome } from "../events/instance-refresh.ts";
import { type AdvanceDeps, type AdvanceOutcome, advanceRollout } from "./advance.ts";
import { requeueTarget, targetMessage } from "./dispatch.ts";
import { targetProgress } from "./progress.ts";
import { needsSettling, settleEndedGroups } from "./settle.ts";
import {
  deactivateRollout,
  findRefresh,
  type GroupRecord,
  type GroupStatus,
  listActiveRollouts,
  loadRollout,
  loadTargetState,
  type RolloutState,
  resetGroupForRetry,
  savePollCursor,
  TERMINAL_REFRESH_STATUSES,
  updateGroupRefresh,
  updateTarget,
} from "./store.ts";
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
  const owner = await findRefresh(
    deps.db,
    deps.table,
    event.accountId,
    event.region,
    event.instanceRefreshId,
  );
  if (!owner) return { outcome: "not-ours", instanceRefreshId: event.instanceRefreshId };
  const refreshStatus = EVENT_STATUS[event.outcome];
  const now = new Date(deps.clock.now()).toISOString();
  const changed = await updateGroupRefresh(
    deps.db,
    deps.table,
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
    const state = await loadTargetState(deps.db, deps.table, owner.rolloutId, where);
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
  const state = only
    ? await loadTargetState(deps.db, deps.table, rolloutId, only)
    : await loadRollout(deps.db, deps.table, rolloutId);
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
      if (await resetGroupForRetry(deps.db, deps.table, rolloutId, group, now))
        retried.push(group.group);
    }
    await updateTarget(
      deps.db,
      deps.table,
      rolloutId,
      target,
      { status: "waiting-for-refresh" },
      now,
    );
    await requeueTarget(
      deps.sqs,
      deps.queueUrl,
      targetMessage(state.record, target),
      pipeline?.rollout?.grantPropagationSeconds ?? 300,
    );
  }
  return retried;
};

export interface PollOutcome {
  readonly rolloutId: string;
  /** Groups whose refresh status changed in this poll. */
  readonly updated: ReadonlyArray<{ group: string; refreshStatus: string }>;
  readonly cancelled: readonly string[];
  readonly errors: readonly string[];
  readonly advance: AdvanceOutcome;
}

/** Refreshes described at once by the poll (a few per account at most, across accounts). */
const POLL_CONCURRENCY = 8;

const accountById = (deps: WatchDeps, accountId: string): AccountConfig | undefined =>
  Object.values(deps.config.accounts).find((account) => account.id === accountId);

/**
 * The backstop behind the events, every few minutes: for every unfinished rollout, ask AWS about
 * each refresh not known to have ended, record what changed, cancel superseded refreshes when so
 * configured, and move the rollout on. Reaches the same state as the events would, so a lost
 * event only delays a wave by one poll.
 */
export const pollRollouts = async (
  deps: WatchDeps,
  options: {
    /** Real milliseconds this invocation may still spend; refreshes left are read next time. */
    readonly timeLeftMs?: () => number;
  } = {},
): Promise<PollOutcome[]> => {
  const outcomes: PollOutcome[] = [];
  const timeLeft = options.timeLeftMs ?? (() => Number.POSITIVE_INFINITY);
  for (const { rolloutId, pollCursor } of await listActiveRollouts(deps.db, deps.table)) {
    // What the records already allow first: a wave to dispatch or a rollout to end never waits
    // behind thousands of refreshes to describe.
    const early = await advanceRollout(rolloutId, deps);
    const state = await loadRollout(deps.db, deps.table, rolloutId);
    if (!state) continue;
    const pipeline = deps.config.pipelines.find((p) => p.name === state.record.pipeline);
    // From where the last poll stopped, round the list: a poll cut short by its timeout resumes
    // there, so every refresh is read in turn however many there are.
    const keyOf = (group: GroupRecord) => `${group.accountId}#${group.region}#${group.group}`;
    const all = state.groups
      .filter((group) => group.instanceRefreshId && !TERMINAL.has(group.refreshStatus ?? ""))
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const start = Math.max(
      0,
      pollCursor ? all.findIndex((group) => keyOf(group) >= pollCursor) : 0,
    );
    const open = [...all.slice(start), ...all.slice(0, start)];
    let nextCursor: string | undefined;
    const updated: Array<{ group: string; refreshStatus: string }> = [];
    const cancelled: string[] = [];
    const errors: string[] = [];
    const cancel =
      state.record.status === "superseded" && pipeline?.rollout?.onSupersede === "cancel";
    await pMap(
      open,
      async (group) => {
        const account = accountById(deps, group.accountId);
        if (!account) return;
        if (nextCursor !== undefined || timeLeft() <= 0) {
          nextCursor ??= keyOf(group);
          return;
        }
        try {
          const client = deps.autoScaling(account, group.region);
          let refresh = await describeRefresh(client, group);
          // Cancel only our own refresh, and only while it runs.
          if (cancel && (refresh?.Status === "Pending" || refresh?.Status === "InProgress")) {
            await cancelRefresh(client, group);
            cancelled.push(group.group);
            refresh = await describeRefresh(client, group);
          }
          if (!refresh?.Status || refresh.Status === group.refreshStatus) return;
          const now = new Date(deps.clock.now()).toISOString();
          const changed = await updateGroupRefresh(
            deps.db,
            deps.table,
            rolloutId,
            group,
            {
              refreshStatus: refresh.Status,
              status: groupStatusOf(refresh.Status),
              ...(refresh.StatusReason ? { statusReason: refresh.StatusReason } : {}),
              ...(refresh.PercentageComplete === undefined
                ? {}
                : { percentageComplete: refresh.PercentageComplete }),
              ...(TERMINAL.has(refresh.Status)
                ? { finishedAt: (refresh.EndTime ?? new Date(deps.clock.now())).toISOString() }
                : {}),
            },
            now,
          );
          if (changed) updated.push({ group: group.group, refreshStatus: refresh.Status });
        } catch (error) {
          // One unreachable account must not stop the others; the next poll tries again.
          errors.push(`${group.accountId}/${group.region}/${group.group}: ${errorMessage(error)}`);
        }
      },
      { concurrency: POLL_CONCURRENCY },
    );
    await savePollCursor(deps.db, deps.table, rolloutId, nextCursor);
    if (updated.length > 0) await retryIfGrantNotPropagated(rolloutId, deps);
    // Also retries what a lost event or a failed attempt left unsettled.
    const current = await loadRollout(deps.db, deps.table, rolloutId);
    if (current?.groups.some(needsSettling)) await settleEndedGroups(current, deps);
    // The backstop of the progress index: a target whose groups have all ended but whose
    // outcome was not recorded (an event lost, or a crash right after its group was written).
    if (current) await recordEndedTargets(current, deps);
    const late = await advanceRollout(rolloutId, deps);
    // What this poll did: the early advance when it dispatched or ended the rollout.
    const advance = early.dispatchedTargets !== undefined || early.ended ? early : late;
    const after = await loadRollout(deps.db, deps.table, rolloutId);
    if (
      after &&
      after.record.status !== "in-progress" &&
      after.groups.every(
        (group) =>
          (!group.instanceRefreshId || TERMINAL.has(group.refreshStatus ?? "")) &&
          !needsSettling(group),
      )
    ) {
      await deactivateRollout(deps.db, deps.table, rolloutId);
    }
    outcomes.push({ rolloutId, updated, cancelled, errors, advance });
  }
  return outcomes;
};

const recordEndedTargets = async (state: RolloutState, deps: WatchDeps): Promise<void> => {
  const groupsOf = new Map<string, GroupRecord[]>();
  for (const group of state.groups) {
    const key = `${group.accountId}#${group.region}`;
    groupsOf.set(key, [...(groupsOf.get(key) ?? []), group]);
  }
  const now = new Date(deps.clock.now()).toISOString();
  for (const target of state.targets) {
    if (!target.progress?.startsWith("open#")) continue;
    const where = { accountId: target.accountId, region: target.region };
    const progress = targetProgress(
      target,
      groupsOf.get(`${target.accountId}#${target.region}`) ?? [],
    );
    if (progress.state !== "running")
      await recordTargetOutcome(deps.db, deps.table, state.record.rolloutId, where, now);
  }
};

const describeRefresh = async (client: AutoScalingClient, group: GroupRecord) => {
  const { InstanceRefreshes: refreshes = [] } = await client.send(
    new DescribeInstanceRefreshesCommand({
      AutoScalingGroupName: group.group,
      InstanceRefreshIds: [group.instanceRefreshId as string],
    }),
  );
  return refreshes[0];
};

const cancelRefresh = async (client: AutoScalingClient, group: GroupRecord): Promise<void> => {
  try {
    await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: group.group }));
  } catch (error) {
    // It ended on its own in the meantime: nothing to cancel.
    if (!(error instanceof Error && error.name === "ActiveInstanceRefreshNotFoundFault"))
      throw error;
  }
};
