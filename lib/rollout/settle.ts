import {
  type AutoScalingClient,
  DescribeInstanceRefreshesCommand,
} from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { discoverGroups } from "../auto-scaling/groups.ts";
import { isActiveRefreshStatus } from "../auto-scaling/instance-refresh.ts";
import { pointGroupAtVersion } from "../auto-scaling/pin-version.ts";
import type { AccountConfig, OrchestratorConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { resolveTemplateVersion, setDefaultVersion } from "../launch-templates/versions.ts";
import { rollBackUpdatedGroup } from "./roll-back-updated-group.ts";
import { createRolloutStore, type GroupRecord, type RolloutState } from "./store/index.ts";

export interface SettleDeps {
  readonly config: OrchestratorConfig;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly clock: { now(): number };
  readonly autoScaling: (account: AccountConfig, region: string) => AutoScalingClient;
  readonly ec2: (account: AccountConfig, region: string) => EC2Client;
}

const UNSUCCESSFUL: ReadonlySet<GroupRecord["status"]> = new Set([
  "failed",
  "rolled-back",
  "cancelled",
]);

/**
 * Whether a group still has its after-refresh steps to do: a succeeded group that got a new
 * version, or a pinned group whose refresh did not succeed.
 */
export const needsSettling = (group: GroupRecord): boolean =>
  group.settled === undefined &&
  group.launchTemplateId !== undefined &&
  group.newVersion !== undefined &&
  group.previousVersion !== undefined &&
  ((group.status === "succeeded" && group.newVersion !== group.previousVersion) ||
    (group.follows !== undefined && UNSUCCESSFUL.has(group.status)) ||
    needsOurRollback(group));

/**
 * A group rolled by updating it first (attribute-based instance types) whose refresh failed: AWS
 * cannot roll such a refresh back (auto-rollback needs a desired configuration, which AWS refuses
 * for these groups), so we do, when the pipeline asks for auto-rollback.
 */
const needsOurRollback = (group: GroupRecord): boolean =>
  group.rolledBy === "group-update" &&
  group.groupUpdated === true &&
  (group.status === "failed" || group.status === "cancelled") &&
  !group.rollbackRefreshId;

/** The refresh's status as AWS has it now (undefined if it cannot be found). */
const currentRefreshStatus = async (
  client: AutoScalingClient,
  group: GroupRecord,
): Promise<string | undefined> => {
  if (!group.instanceRefreshId) return undefined;
  const { InstanceRefreshes: refreshes = [] } = await client.send(
    new DescribeInstanceRefreshesCommand({
      AutoScalingGroupName: group.group,
      InstanceRefreshIds: [group.instanceRefreshId],
    }),
  );
  return refreshes[0]?.Status;
};

/**
 * What happens only once a group's refresh has ended (never before: a rollback must find the
 * template and the group as they were):
 * - succeeded, with `setDefaultVersion`: the template's default moves to the new version;
 * - a group that followed `$Default`/`$Latest` and was pinned for its refresh follows it again
 *   when that reference means the version it now runs: the new one after a success, the old one
 *   after a failure (`$Default` never moved then; `$Latest` names the rejected version, so such
 *   a group stays pinned). Nothing is replaced, and the team's infrastructure code sees no
 *   drift; when it stays pinned, the record says why.
 * Each group is settled once (recorded); a failed attempt is retried by the next poll.
 */
export const settleEndedGroups = async (
  state: RolloutState,
  deps: SettleDeps,
): Promise<string[]> => {
  const pipeline = deps.config.pipelines.find((p) => p.name === state.record.pipeline);
  const moveDefault = pipeline?.rollout?.launchTemplate.setDefaultVersion ?? false;
  const store = createRolloutStore(deps.db, deps.table);
  const settled: string[] = [];
  for (const group of state.groups.filter(needsSettling)) {
    const account = Object.values(deps.config.accounts).find((a) => a.id === group.accountId);
    if (!account) continue;
    const launchTemplateId = group.launchTemplateId as string;
    const succeeded = group.status === "succeeded";
    const runs = (succeeded ? group.newVersion : group.previousVersion) as number;
    const outcomes: string[] = [];
    try {
      const ec2 = deps.ec2(account, group.region);
      if (!succeeded) {
        // Whether "Failed" arrives before "Rollback Started" is not documented: nothing is
        // touched while AWS still works on the refresh (a rollback in progress), and an
        // UpdateAutoScalingGroup then would be refused anyway (instance-refresh-overview,
        // "Limitations"). The next poll tries again.
        const client = deps.autoScaling(account, group.region);
        if (isActiveRefreshStatus(await currentRefreshStatus(client, group))) {
          settled.push(`${group.group}: its refresh is still active (rolling back?): later`);
          continue;
        }
        // A refresh cancelled because a newer image superseded this one is left to the newer
        // rollout; any other failed or cancelled one is undone when the pipeline asks for it.
        if (
          needsOurRollback(group) &&
          pipeline?.rollout?.instanceRefresh.autoRollback &&
          !(group.status === "cancelled" && state.record.status === "superseded")
        ) {
          // Recorded before the calls: after a crash, the rollback refresh is one started since.
          const startedAt = group.rollbackStartedAt ?? new Date(deps.clock.now()).toISOString();
          if (!group.rollbackStartedAt)
            await store.groups.markRollbackStarting(group.rolloutId, group, startedAt);
          const rollback = await rollBackUpdatedGroup(
            client,
            group,
            pipeline.rollout,
            Date.parse(startedAt) - 60_000,
          );
          if (!rollback) {
            settled.push(`${group.group}: another refresh runs on it: rollback later`);
            continue;
          }
          await store.groups.markRollbackStarted(group.rolloutId, group, rollback);
          outcomes.push(`rolled back to version ${group.previousVersion} (refresh ${rollback})`);
        }
      }
      if (succeeded && moveDefault) {
        await setDefaultVersion(ec2, launchTemplateId, runs);
        outcomes.push(`default version ${runs}`);
      }
      if (group.follows) {
        const resolved = await resolveTemplateVersion(ec2, {
          launchTemplateId,
          version: group.follows,
        });
        const client = deps.autoScaling(account, group.region);
        const [current] =
          resolved.versionNumber === runs
            ? (await discoverGroups(client, { names: [group.group] })).groups
            : [];
        if (current) {
          await pointGroupAtVersion(client, current, launchTemplateId, group.follows);
          outcomes.push(`follows ${group.follows} again`);
        } else {
          outcomes.push(
            `stays pinned to version ${runs}: ${group.follows} is version ${resolved.versionNumber}`,
          );
        }
      }
    } catch (error) {
      // Not recorded as settled: the next poll tries again.
      settled.push(`${group.group}: ${errorMessage(error)}`);
      continue;
    }
    const outcome = outcomes.join("; ") || "done";
    await store.groups.markSettled(group.rolloutId, group, outcome);
    settled.push(`${group.group}: ${outcome}`);
  }
  return settled;
};
