import { createHash } from "node:crypto";
import {
  type AutoScalingClient,
  RollbackInstanceRefreshCommand,
} from "@aws-sdk/client-auto-scaling";
import { ModifyLaunchTemplateCommand } from "@aws-sdk/client-ec2";
import { discoverGroups } from "../auto-scaling/groups.ts";
import {
  activeRefreshWithVersion,
  startInstanceRefresh,
} from "../auto-scaling/instance-refresh.ts";
import { errorMessage, OrchestratorError } from "../errors.ts";
import { rollBackUpdatedGroup } from "./roll-back-updated-group.ts";
import { createRolloutStore } from "./store/index.ts";
import type { WatchDeps } from "./watch.ts";

export type RollbackDeps = WatchDeps;

export interface GroupRollback {
  readonly group: string;
  readonly accountId: string;
  readonly region: string;
  readonly status: "rollback-started" | "nothing-to-roll-back" | "failed";
  readonly toVersion?: number;
  readonly instanceRefreshId?: string;
  readonly reason?: string;
}

export interface RollbackOutcome {
  readonly rolloutId: string;
  readonly pipeline: string;
  readonly groups: readonly GroupRollback[];
}

/**
 * Rolls every group of the pipeline's latest rollout back to the launch-template version it ran
 * before (kept on the group record), with an instance refresh pinned to that version. A group
 * whose forward refresh is still running gets RollbackInstanceRefresh instead; the template's
 * default version is restored when the rollout had changed it. Safe to run twice: a rollback
 * refresh already running is adopted, not started again. Later waves never start.
 */
export const rollbackPipeline = async (
  pipelineName: string,
  deps: RollbackDeps,
  requestedBy = "operator",
): Promise<RollbackOutcome> => {
  const pipeline = deps.config.pipelines.find((candidate) => candidate.name === pipelineName);
  if (!pipeline?.rollout) {
    throw new OrchestratorError(`no pipeline "${pipelineName}" with a rollout in the config`);
  }
  const store = createRolloutStore(deps.db, deps.table);
  const [rolloutId] = await store.pipelines.latest(pipelineName, 1);
  const state = rolloutId ? await store.rollouts.load(rolloutId) : undefined;
  if (!rolloutId || !state)
    throw new OrchestratorError(`pipeline "${pipelineName}" has no rollout to roll back`);
  const now = () => new Date(deps.clock.now()).toISOString();
  const settings = {
    ...pipeline.rollout.instanceRefresh,
    autoRollback: false,
    whenInProgress: "wait" as const,
  };
  const groups: GroupRollback[] = [];
  for (const record of state.groups) {
    const base = { group: record.group, accountId: record.accountId, region: record.region };
    const account = Object.values(deps.config.accounts).find(
      (candidate) => candidate.id === record.accountId,
    );
    if (
      !account ||
      !record.launchTemplateId ||
      record.previousVersion === undefined ||
      record.previousVersion === record.newVersion
    ) {
      groups.push({ ...base, status: "nothing-to-roll-back" });
      continue;
    }
    const target = {
      launchTemplateId: record.launchTemplateId,
      versionNumber: record.previousVersion,
      // The overrides' own AMIs the rollout swapped go back too (new → old).
      images: new Map(
        Object.entries(record.overrideImages ?? {}).map(([oldAmi, newAmi]) => [newAmi, oldAmi]),
      ),
    };
    try {
      const client: AutoScalingClient = deps.autoScaling(account, record.region);
      if (record.rolledBy === "group-update") {
        // AWS cannot roll these back (no desired configuration): ours, as settle does it.
        if (!record.groupUpdated) {
          groups.push({ ...base, status: "nothing-to-roll-back" });
          continue;
        }
        const id = await rollBackUpdatedGroup(
          client,
          record,
          pipeline.rollout,
          deps.clock.now() - 60_000,
        );
        if (!id)
          throw new OrchestratorError(
            "an instance refresh is running on the group (the rollout's own, or another team's): run the rollback again once it has ended, or cancel it (aws autoscaling cancel-instance-refresh)",
          );
        await store.groups.markRolledBackByOperator(rolloutId, record, id, now());
        groups.push({
          ...base,
          status: "rollback-started",
          toVersion: record.previousVersion,
          instanceRefreshId: id,
        });
        continue;
      }
      const [group] = (await discoverGroups(client, { names: [record.group] })).groups;
      if (!group) throw new OrchestratorError(`group ${record.group} no longer exists`);
      let started = await startInstanceRefresh(client, group, target, settings);
      if (started.status !== "started" && record.newVersion !== undefined) {
        // Our forward refresh still runs: AWS rolls it back to the previous configuration.
        if (
          await activeRefreshWithVersion(client, record.group, {
            ...target,
            versionNumber: record.newVersion,
          })
        ) {
          const { InstanceRefreshId: id } = await client.send(
            new RollbackInstanceRefreshCommand({ AutoScalingGroupName: record.group }),
          );
          started = { status: "started", instanceRefreshId: id ?? "" };
        }
      }
      if (started.status !== "started")
        throw new OrchestratorError(
          "another team's instance refresh is running on the group: try again when it ends",
        );
      if (pipeline.rollout.launchTemplate.setDefaultVersion) {
        await deps.ec2(account, record.region).send(
          new ModifyLaunchTemplateCommand({
            LaunchTemplateId: record.launchTemplateId,
            DefaultVersion: String(record.previousVersion),
            // The rollout id is an image ARN: hashed, so the template's part is never cut off.
            ClientToken: `rollback-${createHash("sha256").update(`${rolloutId}|${record.launchTemplateId}`).digest("hex").slice(0, 48)}`,
          }),
        );
      }
      await store.groups.markRolledBackByOperator(
        rolloutId,
        record,
        started.instanceRefreshId,
        now(),
      );
      groups.push({
        ...base,
        status: "rollback-started",
        toVersion: record.previousVersion,
        instanceRefreshId: started.instanceRefreshId,
      });
    } catch (error) {
      groups.push({ ...base, status: "failed", reason: errorMessage(error) });
    }
  }
  await store.rollouts.finish(
    rolloutId,
    "rolled-back",
    { reason: `rolled back by ${requestedBy}` },
    now(),
    { from: ["in-progress", "succeeded", "failed", "superseded"] },
  );
  return { rolloutId, pipeline: pipelineName, groups };
};
