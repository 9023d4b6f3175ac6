import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DescribeLaunchTemplateVersionsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { discoverGroups } from "../auto-scaling/groups.ts";
import { pointGroupAtVersion } from "../auto-scaling/pin-version.ts";
import type { AccountConfig, OrchestratorConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { setDefaultVersion } from "../launch-templates/versions.ts";
import { type GroupRecord, groupKey, type RolloutState } from "./store.ts";

export interface SettleDeps {
  readonly config: OrchestratorConfig;
  readonly db: import("@aws-sdk/lib-dynamodb").DynamoDBDocumentClient;
  readonly table: string;
  readonly clock: { now(): number };
  readonly autoScaling: (account: AccountConfig, region: string) => AutoScalingClient;
  readonly ec2: (account: AccountConfig, region: string) => EC2Client;
}

/** Whether a succeeded group still has its after-success steps to do. */
export const needsSettling = (group: GroupRecord): boolean =>
  group.status === "succeeded" &&
  group.settled === undefined &&
  group.launchTemplateId !== undefined &&
  group.newVersion !== undefined &&
  group.newVersion !== group.previousVersion;

/**
 * What happens only once a group's refresh has succeeded (never before: a rollback must find the
 * template and the group as they were):
 * - `setDefaultVersion`: the template's default moves to the new version;
 * - a group that followed `$Default`/`$Latest` and was pinned for its refresh follows it again,
 *   when that reference now means the version it runs (so nothing is replaced, and the team's
 *   infrastructure code sees no drift); otherwise it stays pinned, and the record says why.
 * Each group is settled once (recorded); a failure is recorded too and retried by the next poll.
 */
export const settleSucceededGroups = async (
  state: RolloutState,
  deps: SettleDeps,
): Promise<string[]> => {
  const pipeline = deps.config.pipelines.find((p) => p.name === state.record.pipeline);
  const moveDefault = pipeline?.rollout?.launchTemplate.setDefaultVersion ?? false;
  const settled: string[] = [];
  for (const group of state.groups.filter(needsSettling)) {
    const account = Object.values(deps.config.accounts).find((a) => a.id === group.accountId);
    if (!account) continue;
    const launchTemplateId = group.launchTemplateId as string;
    const newVersion = group.newVersion as number;
    let outcome: string;
    try {
      const ec2 = deps.ec2(account, group.region);
      if (moveDefault) await setDefaultVersion(ec2, launchTemplateId, newVersion);
      outcome = moveDefault ? `default version ${newVersion}` : "done";
      if (group.follows) {
        const { LaunchTemplateVersions: [resolved] = [] } = await ec2.send(
          new DescribeLaunchTemplateVersionsCommand({
            LaunchTemplateId: launchTemplateId,
            Versions: [group.follows],
          }),
        );
        if (resolved?.VersionNumber === newVersion) {
          const client = deps.autoScaling(account, group.region);
          const [current] = (await discoverGroups(client, { names: [group.group] })).groups;
          if (current) {
            await pointGroupAtVersion(client, current, launchTemplateId, group.follows);
            outcome = `${outcome}; follows ${group.follows} again`;
          }
        } else {
          outcome = `${outcome}; stays pinned to version ${newVersion}: ${group.follows} is version ${resolved?.VersionNumber ?? "?"}`;
        }
      }
    } catch (error) {
      // Recorded as not settled: the next poll tries again.
      settled.push(`${group.group}: ${errorMessage(error)}`);
      continue;
    }
    await deps.db.send(
      new UpdateCommand({
        TableName: deps.table,
        Key: groupKey(group.rolloutId, group, group.group),
        UpdateExpression: "SET settled = :settled",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":settled": outcome },
      }),
    );
    settled.push(`${group.group}: ${outcome}`);
  }
  return settled;
};
