import { imageLaunchedBy, launchFailure, launchPathImages } from "./auto-scaling/launch-paths.ts";
import { autoScalingOperations } from "./auto-scaling/operations.ts";
import {
  ACTIVE,
  groupConfiguration,
  type LaunchConfiguration,
  type LaunchFailureListener,
  type MixedPolicy,
  type RefreshDurations,
  type RefreshListener,
  type RefreshStatus,
  type SandboxActivity,
  type SandboxGroup,
  type SandboxRefresh,
  type TemplateSpec,
  templateSpecOf,
  uuidFrom,
} from "./auto-scaling/state.ts";
import type { SimClock } from "./clock.ts";
import type { Ec2Model } from "./ec2.ts";
import type { KmsModel } from "./kms.ts";

export type {
  LaunchFailureListener,
  MixedPolicy,
  RefreshDurations,
  RefreshListener,
  RefreshStatus,
  SandboxActivity,
  SandboxGroup,
  SandboxRefresh,
} from "./auto-scaling/state.ts";

/**
 * EC2 Auto Scaling: groups and instance refreshes that progress on the simulated clock. The rule
 * that matters is enforced at the first launch: every customer-managed key encrypting the new
 * AMI's snapshots must have a propagated grant for the group's service-linked role, or the
 * refresh fails the way AWS does ("Client.InternalError: Client error on launch").
 *
 * This file holds the state and how it changes; `auto-scaling/` has the records (state.ts), the
 * AMI each launch path uses (launch-paths.ts), and the API: its operations (operations.ts), what
 * they refuse (refusals.ts) and the shapes they answer (shapes.ts).
 */
export class AutoScalingModel {
  readonly groups = new Map<string, SandboxGroup>();
  readonly refreshes: SandboxRefresh[] = [];
  /** UpdateAutoScalingGroup calls, in order. */
  readonly updates: Array<{ group: string; accountId: string; region: string; input: unknown }> =
    [];
  readonly #listeners: RefreshListener[] = [];
  readonly activities: SandboxActivity[] = [];
  readonly #launchFailureListeners: LaunchFailureListener[] = [];
  /**
   * EC2 errors a launch meets that the model does not derive (capacity, quotas, a deleted
   * instance profile): injected per group, as the message Auto Scaling records in StatusMessage
   * ("<EC2 message>. Launching EC2 instance failed.", EC2 Auto Scaling user guide, "Troubleshoot
   * instance launch failures"). Consumed one per launch.
   */
  readonly injectedLaunchErrors = new Map<SandboxGroup, string[]>();
  /** The API the orchestrator calls (auto-scaling/operations.ts). */
  readonly operations: ReturnType<typeof autoScalingOperations>;

  constructor(
    private readonly clock: SimClock,
    private readonly ec2: Ec2Model,
    private readonly kms: KmsModel,
    readonly durations: RefreshDurations = { firstLaunchMs: 60_000, completeMs: 10 * 60_000 },
  ) {
    this.operations = autoScalingOperations(this, ec2);
  }

  addGroup(group: SandboxGroup): SandboxGroup {
    this.groups.set(`${group.accountId}|${group.region}|${group.name}`, group);
    return group;
  }

  onRefreshChange(listener: RefreshListener): void {
    this.#listeners.push(listener);
  }

  onLaunchFailure(listener: LaunchFailureListener): void {
    this.#launchFailureListeners.push(listener);
  }

  refreshesOf(group: SandboxGroup): SandboxRefresh[] {
    return this.refreshes.filter((refresh) => refresh.group === group);
  }

  /** Every AMI a configuration launches, one per launch path (auto-scaling/launch-paths.ts). */
  launchPathImages(
    group: SandboxGroup,
    configuration: LaunchConfiguration = groupConfiguration(group),
  ): Array<{ path: string; imageId: string }> {
    return launchPathImages(this.ec2, group, configuration);
  }

  /** Why the group cannot launch this AMI now, if it cannot. */
  launchFailure(group: SandboxGroup, imageId: string): string | undefined {
    return launchFailure({ ec2: this.ec2, kms: this.kms }, group, imageId, this.clock.now());
  }

  /** Records a launch attempt as Auto Scaling does: an activity, and the event if it failed. */
  #recordLaunch(group: SandboxGroup, cause: string, failure: string | undefined): SandboxActivity {
    const at = this.clock.now();
    const id = uuidFrom(`${group.accountId}|${group.name}|${this.activities.length}|${at}`);
    // Activity descriptions as the console and DescribeScalingActivities show them.
    const activity: SandboxActivity = failure
      ? {
          id,
          group,
          description: "Launching a new EC2 instance.  Status Reason: " + failure,
          cause,
          startTime: at,
          endTime: at,
          statusCode: "Failed",
          statusMessage: failure,
        }
      : {
          id,
          group,
          description: `Launching a new EC2 instance: i-${id.replace(/-/g, "").slice(0, 17)}`,
          cause,
          startTime: at,
          endTime: at,
          statusCode: "Successful",
        };
    this.activities.push(activity);
    if (failure) for (const listener of this.#launchFailureListeners) listener(activity);
    return activity;
  }

  /**
   * The AMI a scale-out launches now. "If a scale-out event occurs during an instance refresh,
   * Amazon EC2 Auto Scaling launches new instances with the desired configuration instead of the
   * group's current settings" (EC2 Auto Scaling user guide, instance refresh core concepts,
   * "Desired configuration"); but a rollback's "new instances match the configuration that you
   * last saved on the Auto Scaling group" (user guide, instance-refresh-rollback).
   */
  #currentImageOf(group: SandboxGroup): string {
    const refresh = this.refreshesOf(group).find(
      (candidate) =>
        ACTIVE.has(candidate.status) &&
        candidate.status !== "RollbackInProgress" &&
        templateSpecOf(candidate.desiredConfiguration) !== undefined,
    );
    return imageLaunchedBy(
      this.ec2,
      group,
      refresh ? refresh.desiredConfiguration : groupConfiguration(group),
    );
  }

  /**
   * A scale-out (a policy, a schedule, a replaced instance): one launch from the group's current
   * launch template version (or its refresh's desired one), which fails like a refresh's when the
   * AMI's key is unusable.
   */
  scaleOut(group: SandboxGroup): SandboxActivity {
    const injected = this.injectedLaunchErrors.get(group)?.shift();
    const failure = (injected ?? this.launchFailure(group, this.#currentImageOf(group)))?.replace(
      /^Instance failed to launch: /,
      "",
    );
    const activity = this.#recordLaunch(
      group,
      `At ${this.clock.iso()} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${group.desiredCapacity} to ${group.desiredCapacity + 1}.`,
      failure,
    );
    if (!failure) group.desiredCapacity += 1;
    return activity;
  }

  /** A refresh StartInstanceRefresh accepted: Pending, InProgress after a second, then launches. */
  startRefresh(
    group: SandboxGroup,
    desired: LaunchConfiguration,
    preferences: Record<string, unknown>,
  ): SandboxRefresh {
    const refresh: SandboxRefresh = {
      id: uuidFrom(`${group.name}|${this.refreshes.length}|${this.clock.now()}`),
      group,
      status: "Pending",
      percentageComplete: 0,
      startTime: this.clock.now(),
      desiredConfiguration: desired,
      preferences,
    };
    this.refreshes.push(refresh);
    this.clock.after(1_000, () => {
      if (refresh.status === "Pending") this.#set(refresh, "InProgress");
    });
    this.clock.after(this.durations.firstLaunchMs, () => this.#firstLaunch(refresh));
    return refresh;
  }

  /** What UpdateAutoScalingGroup saves: a template replaces the policy, and the reverse. */
  updateGroup(
    group: SandboxGroup,
    { launchTemplate, policy }: { launchTemplate?: TemplateSpec; policy?: MixedPolicy },
    input: unknown,
  ): void {
    if (launchTemplate) {
      group.launchTemplate = launchTemplate;
      delete group.mixedInstancesPolicy;
    }
    if (policy) {
      group.mixedInstancesPolicy = policy;
      delete group.launchTemplate;
    }
    this.updates.push({
      group: group.name,
      accountId: group.accountId,
      region: group.region,
      input,
    });
  }

  /** CancelInstanceRefresh: Cancelling, then Cancelled a minute later. */
  cancelRefresh(refresh: SandboxRefresh): void {
    this.#set(refresh, "Cancelling");
    this.clock.after(60_000, () => this.#set(refresh, "Cancelled"));
  }

  #set(refresh: SandboxRefresh, status: RefreshStatus, reason?: string): void {
    refresh.status = status;
    if (reason) refresh.statusReason = reason;
    if (!ACTIVE.has(status)) refresh.endTime = this.clock.now();
    for (const listener of this.#listeners) listener(refresh);
  }

  #firstLaunch(refresh: SandboxRefresh): void {
    if (refresh.status !== "InProgress") return;
    // Without a desired configuration a refresh relaunches the group's own configuration
    // (API reference, StartInstanceRefresh: DesiredConfiguration is optional).
    const paths = templateSpecOf(refresh.desiredConfiguration)
      ? this.launchPathImages(refresh.group, refresh.desiredConfiguration)
      : this.launchPathImages(refresh.group);
    const imageId = paths[0]?.imageId ?? "";
    // A refresh launches through every path it uses: a key one path's AMI needs fails it.
    const failure = paths
      .map((path) => this.launchFailure(refresh.group, path.imageId))
      .find((reason) => reason !== undefined);
    this.#recordLaunch(
      refresh.group,
      `At ${this.clock.iso()} an instance was launched in response to an instance refresh.`,
      failure?.replace(/^Instance failed to launch: /, ""),
    );
    if (failure) {
      if (refresh.preferences.AutoRollback) {
        this.#set(
          refresh,
          "RollbackInProgress",
          `${failure}. Rolling back to the previous configuration.`,
        );
        this.clock.after(2 * 60_000, () => this.#set(refresh, "RollbackSuccessful"));
      } else this.#set(refresh, "Failed", failure);
      return;
    }
    refresh.percentageComplete = 50;
    this.clock.after(this.durations.completeMs - this.durations.firstLaunchMs, () => {
      if (refresh.status !== "InProgress") return;
      const group = refresh.group;
      if (refresh.desiredConfiguration.MixedInstancesPolicy) {
        group.mixedInstancesPolicy = refresh.desiredConfiguration.MixedInstancesPolicy;
      } else if (refresh.desiredConfiguration.LaunchTemplate) {
        // As in AWS: a DesiredConfiguration without the policy replaces it.
        group.launchTemplate = refresh.desiredConfiguration.LaunchTemplate;
        delete group.mixedInstancesPolicy;
      }
      group.runningImageId = imageId;
      refresh.percentageComplete = 100;
      this.#set(refresh, "Successful");
    });
  }
}
