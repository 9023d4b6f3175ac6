import {
  type AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeInstanceRefreshesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { AccountConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import {
  type GroupRecord,
  type RolloutRecord,
  type RolloutStore,
  TERMINAL_REFRESH_STATUSES,
} from "./store/index.ts";
import { groupStatusOf, type WatchDeps } from "./watch.ts";

/** One group of a poll: its refresh read from AWS, cancelled when so configured, recorded. */

/** Targets read at once (a few per account at most, across accounts). */
export const POLL_CONCURRENCY = 8;

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_REFRESH_STATUSES);

export const isRefreshOpen = (group: GroupRecord) =>
  group.instanceRefreshId !== undefined && !TERMINAL.has(group.refreshStatus ?? "");

const accountById = (deps: WatchDeps, accountId: string): AccountConfig | undefined =>
  Object.values(deps.config.accounts).find((account) => account.id === accountId);

/** What one rollout's poll saw and did. */
export interface Round {
  readonly updated: Array<{ group: string; refreshStatus: string }>;
  readonly cancelled: string[];
  readonly errors: string[];
  /** Where the next poll starts, when this one ran out of time. */
  cursor?: string;
  /** Whether anything still runs or waits to be settled (the rollout stays active then). */
  live: boolean;
}

/** Asks AWS about one group's refresh, cancels it if superseded and so configured, records it. */
export const pollGroup = async (
  record: RolloutRecord,
  group: GroupRecord,
  round: Round,
  deps: WatchDeps,
  store: RolloutStore,
): Promise<boolean> => {
  const account = accountById(deps, group.accountId);
  if (!account) return false;
  const pipeline = deps.config.pipelines.find((p) => p.name === record.pipeline);
  const cancel = record.status === "superseded" && pipeline?.rollout?.onSupersede === "cancel";
  try {
    const client = deps.autoScaling(account, group.region);
    let refresh = await describeRefresh(client, group);
    // Cancel only our own refresh, and only while it runs.
    if (cancel && (refresh?.Status === "Pending" || refresh?.Status === "InProgress")) {
      await cancelRefresh(client, group);
      round.cancelled.push(group.group);
      refresh = await describeRefresh(client, group);
    }
    if (!refresh?.Status || refresh.Status === group.refreshStatus) return false;
    const now = new Date(deps.clock.now()).toISOString();
    const changed = await store.groups.updateRefresh(
      record.rolloutId,
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
    if (changed) round.updated.push({ group: group.group, refreshStatus: refresh.Status });
    return changed;
  } catch (error) {
    // One unreachable account must not stop the others; the next poll tries again.
    round.errors.push(`${group.accountId}/${group.region}/${group.group}: ${errorMessage(error)}`);
    return false;
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
