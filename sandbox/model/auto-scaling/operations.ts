import type { Ec2Model } from "../ec2.ts";
import { awsError } from "../errors.ts";
import type { CallContext } from "../faults.ts";
import { refuseRefresh, refuseUpdate } from "./refusals.ts";
import { activityShape, groupShape, refreshShape } from "./shapes.ts";
import {
  ACTIVE,
  type LaunchConfiguration,
  type MixedPolicy,
  type SandboxActivity,
  type SandboxGroup,
  type SandboxRefresh,
  type TemplateSpec,
} from "./state.ts";

/** What the API needs of the model: its records, and the changes it may ask for. */
export interface AutoScalingState {
  readonly groups: ReadonlyMap<string, SandboxGroup>;
  readonly activities: readonly SandboxActivity[];
  refreshesOf(group: SandboxGroup): SandboxRefresh[];
  /** Starts a refresh that progresses on the clock. */
  startRefresh(
    group: SandboxGroup,
    desired: LaunchConfiguration,
    preferences: Record<string, unknown>,
  ): SandboxRefresh;
  /** Saves a new launch template or mixed instances policy on the group. */
  updateGroup(
    group: SandboxGroup,
    change: { launchTemplate?: TemplateSpec; policy?: MixedPolicy },
    input: unknown,
  ): void;
  cancelRefresh(refresh: SandboxRefresh): void;
}

/** The EC2 Auto Scaling API the orchestrator calls, over the model's state. */
export const autoScalingOperations = (model: AutoScalingState, ec2: Ec2Model) => {
  const groupNamed = (call: CallContext, name: unknown): SandboxGroup => {
    const group = model.groups.get(`${call.accountId}|${call.region}|${String(name)}`);
    if (!group)
      throw awsError(
        "ValidationError",
        `AutoScalingGroup name not found - AutoScalingGroup ${String(name)} not found`,
      );
    return group;
  };
  return {
    // API reference, DescribeScalingActivities: newest first, MaxRecords 1-100 (default 100),
    // NextToken; an unknown group answers an empty list.
    DescribeScalingActivities: (call: CallContext) => {
      const name = call.input.AutoScalingGroupName as string | undefined;
      const matching = model.activities
        .filter(
          (activity) =>
            activity.group.accountId === call.accountId &&
            activity.group.region === call.region &&
            (name === undefined || activity.group.name === name),
        )
        .sort((a, b) => b.startTime - a.startTime);
      const pageSize = Number(call.input.MaxRecords ?? 100);
      const start = call.input.NextToken ? Number(call.input.NextToken) : 0;
      return {
        Activities: matching.slice(start, start + pageSize).map(activityShape),
        ...(start + pageSize < matching.length ? { NextToken: String(start + pageSize) } : {}),
      };
    },

    DescribeAutoScalingGroups: (call: CallContext) => {
      const names = call.input.AutoScalingGroupNames as string[] | undefined;
      // "By default, you can only specify up to 50 names. You can optionally increase this
      // limit using the MaxRecords property" (API model, AutoScalingGroupNames).
      const nameLimit = Number(call.input.MaxRecords ?? 50);
      if (names && names.length > nameLimit)
        throw awsError(
          "ValidationError",
          `The number of Auto Scaling group names (${names.length}) exceeds the maximum of ${nameLimit}.`,
        );
      const filters =
        (call.input.Filters as Array<{ Name: string; Values: string[] }> | undefined) ?? [];
      const matching = [...model.groups.values()]
        .filter((group) => group.accountId === call.accountId && group.region === call.region)
        .filter((group) => !names || names.includes(group.name))
        .filter((group) =>
          filters.every((filter) => {
            if (!filter.Name.startsWith("tag:"))
              throw awsError(
                "ValidationError",
                `the sandbox models tag filters only (${filter.Name})`,
              );
            const value = group.tags[filter.Name.slice(4)];
            return value !== undefined && filter.Values.includes(value);
          }),
        )
        .sort((a, b) => a.name.localeCompare(b.name));
      const pageSize = Number(call.input.MaxRecords ?? 50);
      const start = call.input.NextToken ? Number(call.input.NextToken) : 0;
      return {
        AutoScalingGroups: matching.slice(start, start + pageSize).map(groupShape),
        ...(start + pageSize < matching.length ? { NextToken: String(start + pageSize) } : {}),
      };
    },

    StartInstanceRefresh: (call: CallContext) => {
      const group = groupNamed(call, call.input.AutoScalingGroupName);
      const desired = (call.input.DesiredConfiguration ?? {}) as LaunchConfiguration;
      const preferences = (call.input.Preferences ?? {}) as Record<string, unknown>;
      refuseRefresh(ec2, group, model.refreshesOf(group), {
        desired,
        preferences,
        strategy: call.input.Strategy,
      });
      const refresh = model.startRefresh(group, desired, preferences);
      return { InstanceRefreshId: refresh.id };
    },

    /**
     * Changes what the next launch uses; "Existing instances continue to run with the
     * configuration that they were originally launched with" (API reference
     * UpdateAutoScalingGroup). Properties not given are not changed.
     */
    UpdateAutoScalingGroup: (call: CallContext) => {
      const group = groupNamed(call, call.input.AutoScalingGroupName);
      const launchTemplate = call.input.LaunchTemplate as TemplateSpec | undefined;
      const policy = call.input.MixedInstancesPolicy as MixedPolicy | undefined;
      refuseUpdate(ec2, group, model.refreshesOf(group), launchTemplate, policy);
      model.updateGroup(
        group,
        { ...(launchTemplate ? { launchTemplate } : {}), ...(policy ? { policy } : {}) },
        call.input,
      );
      return {};
    },

    CancelInstanceRefresh: (call: CallContext) => {
      const group = groupNamed(call, call.input.AutoScalingGroupName);
      // "Cancels an instance refresh or rollback that is in progress" (API reference,
      // CancelInstanceRefresh): one already cancelling is not in progress any more.
      const active = model
        .refreshesOf(group)
        .find((refresh) => ACTIVE.has(refresh.status) && refresh.status !== "Cancelling");
      if (!active)
        throw awsError(
          "ActiveInstanceRefreshNotFoundFault",
          "No in progress or pending Instance Refresh found for Auto Scaling group",
        );
      model.cancelRefresh(active);
      return { InstanceRefreshId: active.id };
    },

    DescribeInstanceRefreshes: (call: CallContext) => {
      const group = groupNamed(call, call.input.AutoScalingGroupName);
      const ids = call.input.InstanceRefreshIds as string[] | undefined;
      const refreshes = model
        .refreshesOf(group)
        .filter((refresh) => !ids || ids.includes(refresh.id))
        .sort((a, b) => b.startTime - a.startTime)
        .slice(0, Number(call.input.MaxRecords ?? 50));
      return { InstanceRefreshes: refreshes.map(refreshShape) };
    },
  };
};
