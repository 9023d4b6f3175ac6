import { createHash } from "node:crypto";
import type { SimClock } from "./clock.ts";
import type { Ec2Model } from "./ec2.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";
import type { KmsModel } from "./kms.ts";

interface TemplateSpec {
  LaunchTemplateId?: string;
  LaunchTemplateName?: string;
  Version?: string;
}

export interface MixedPolicy {
  LaunchTemplate: {
    LaunchTemplateSpecification: TemplateSpec;
    Overrides?: Array<Record<string, unknown>>;
  };
  InstancesDistribution?: Record<string, unknown>;
}

export interface SandboxGroup {
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly tags: Record<string, string>;
  readonly serviceLinkedRoleArn: string;
  desiredCapacity: number;
  launchTemplate?: TemplateSpec;
  mixedInstancesPolicy?: MixedPolicy;
  launchConfigurationName?: string;
  /** The AMI its instances run. */
  runningImageId?: string;
}

export type RefreshStatus =
  | "Pending"
  | "InProgress"
  | "Successful"
  | "Failed"
  | "Cancelling"
  | "Cancelled"
  | "RollbackInProgress"
  | "RollbackFailed"
  | "RollbackSuccessful"
  | "Baking";

export interface SandboxRefresh {
  readonly id: string;
  readonly group: SandboxGroup;
  status: RefreshStatus;
  statusReason?: string;
  percentageComplete: number;
  readonly startTime: number;
  endTime?: number;
  readonly desiredConfiguration: {
    LaunchTemplate?: TemplateSpec;
    MixedInstancesPolicy?: MixedPolicy;
  };
  readonly preferences: Record<string, unknown>;
}

export type RefreshListener = (refresh: SandboxRefresh) => void;

/** A scaling activity (API reference, Activity): what DescribeScalingActivities lists. */
export interface SandboxActivity {
  readonly id: string;
  readonly group: SandboxGroup;
  readonly description: string;
  readonly cause: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly statusCode: "Successful" | "Failed";
  readonly statusMessage?: string;
}

/** Told of every failed launch: what Auto Scaling sends as "EC2 Instance Launch Unsuccessful". */
export type LaunchFailureListener = (activity: SandboxActivity) => void;

/** Every non-terminal InstanceRefreshStatus of the API model. */
const ACTIVE: ReadonlySet<RefreshStatus> = new Set([
  "Pending",
  "InProgress",
  "Baking",
  "Cancelling",
  "RollbackInProgress",
]);

/** Whether a mixed instances policy chooses instance types by attributes (InstanceRequirements). */
const usesInstanceRequirements = (policy: MixedPolicy | undefined): boolean =>
  (policy?.LaunchTemplate.Overrides ?? []).some(
    (override) => override.InstanceRequirements !== undefined,
  );

/** How long simulated refreshes take. */
export interface RefreshDurations {
  readonly firstLaunchMs: number;
  readonly completeMs: number;
}

/**
 * EC2 Auto Scaling: groups and instance refreshes that progress on the simulated clock. The rule
 * that matters is enforced at the first launch: every customer-managed key encrypting the new
 * AMI's snapshots must have a propagated grant for the group's service-linked role, or the
 * refresh fails the way AWS does ("Client.InternalError: Client error on launch").
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

  constructor(
    private readonly clock: SimClock,
    private readonly ec2: Ec2Model,
    private readonly kms: KmsModel,
    readonly durations: RefreshDurations = { firstLaunchMs: 60_000, completeMs: 10 * 60_000 },
  ) {}

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

  /** Records a launch attempt as Auto Scaling does: an activity, and the event if it failed. */
  #recordLaunch(group: SandboxGroup, cause: string, failure: string | undefined): SandboxActivity {
    const at = this.clock.now();
    const id = createHash("sha256")
      .update(`${group.accountId}|${group.name}|${this.activities.length}|${at}`)
      .digest("hex")
      .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, "$1-$2-$3-$4-$5");
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
        this.#templateSpecOf(candidate.desiredConfiguration) !== undefined,
    );
    const configuration = refresh
      ? refresh.desiredConfiguration
      : {
          ...(group.launchTemplate ? { LaunchTemplate: group.launchTemplate } : {}),
          ...(group.mixedInstancesPolicy
            ? { MixedInstancesPolicy: group.mixedInstancesPolicy }
            : {}),
        };
    return this.#imageLaunchedBy(group, configuration);
  }

  /**
   * The AMI one launch from a configuration uses. A desired configuration with only a launch
   * template replaces the policy. In a mixed instances policy the first override launches: with
   * the default "prioritized" On-Demand strategy "Amazon EC2 Auto Scaling launches your highest
   * priority instance types first" (API model, InstancesDistribution.OnDemandAllocationStrategy;
   * capacity is not modelled); its ImageId is "The ID of the Amazon Machine Image (AMI) to use for
   * instances launched with this override", else its own LaunchTemplateSpecification, else the
   * policy's template (API model, LaunchTemplateOverrides).
   */
  #imageLaunchedBy(group: SandboxGroup, configuration: SandboxRefresh["desiredConfiguration"]) {
    const first = configuration.LaunchTemplate
      ? undefined
      : configuration.MixedInstancesPolicy?.LaunchTemplate.Overrides?.[0];
    if (typeof first?.ImageId === "string") return first.ImageId;
    return this.#imageOfTemplate(
      group,
      (first?.LaunchTemplateSpecification as TemplateSpec | undefined) ??
        this.#templateSpecOf(configuration),
    );
  }

  /** The AMI a template version launches (`$Default` when the reference names no version). */
  #imageOfTemplate(group: SandboxGroup, spec: TemplateSpec | undefined): string {
    const template = spec
      ? this.ec2.findTemplate(group, spec as Record<string, unknown>)
      : undefined;
    const version = template
      ? this.ec2.resolveVersion(template, spec?.Version ?? "$Default")
      : undefined;
    return String(version?.data.ImageId ?? "");
  }

  /**
   * A scale-out (a policy, a schedule, a replaced instance): one launch from the group's current
   * launch template version (or its refresh's desired one), which fails like a refresh's when the
   * AMI's key is unusable.
   */
  /**
   * EC2 errors a launch meets that the model does not derive (capacity, quotas, a deleted
   * instance profile): injected per group, as the message Auto Scaling records in StatusMessage
   * ("<EC2 message>. Launching EC2 instance failed.", EC2 Auto Scaling user guide, "Troubleshoot
   * instance launch failures"). Consumed one per launch.
   */
  readonly injectedLaunchErrors = new Map<SandboxGroup, string[]>();

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

  refreshesOf(group: SandboxGroup): SandboxRefresh[] {
    return this.refreshes.filter((refresh) => refresh.group === group);
  }

  #group(call: CallContext, name: unknown): SandboxGroup {
    const group = this.groups.get(`${call.accountId}|${call.region}|${String(name)}`);
    if (!group)
      throw awsError(
        "ValidationError",
        `AutoScalingGroup name not found - AutoScalingGroup ${String(name)} not found`,
      );
    return group;
  }

  #templateSpecOf(configuration: SandboxRefresh["desiredConfiguration"]): TemplateSpec | undefined {
    return (
      configuration.LaunchTemplate ??
      configuration.MixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification
    );
  }

  /**
   * Every AMI a configuration launches, one per launch path: the main template's version, and
   * each override's own `ImageId` ("The ID of the AMI to use for instances launched with this
   * override", API model LaunchTemplateOverrides.ImageId) or else its own template's version
   * ("Provides a launch template for the specified instance type or set of instance
   * requirements", LaunchTemplateOverrides.LaunchTemplateSpecification), or else the main one.
   */
  launchPathImages(
    group: SandboxGroup,
    configuration: SandboxRefresh["desiredConfiguration"] = {
      ...(group.launchTemplate ? { LaunchTemplate: group.launchTemplate } : {}),
      ...(group.mixedInstancesPolicy ? { MixedInstancesPolicy: group.mixedInstancesPolicy } : {}),
    },
  ): Array<{ path: string; imageId: string }> {
    const imageOf = (spec: TemplateSpec | undefined) => this.#imageOfTemplate(group, spec);
    const main = imageOf(this.#templateSpecOf(configuration));
    const overrides = configuration.MixedInstancesPolicy?.LaunchTemplate.Overrides ?? [];
    return [
      { path: "launch template", imageId: main },
      ...overrides.map((override, index) => {
        const spec = override.LaunchTemplateSpecification as TemplateSpec | undefined;
        return {
          path: `override ${index + 1} (${String(override.InstanceType ?? "instance requirements")})`,
          imageId:
            typeof override.ImageId === "string"
              ? override.ImageId
              : spec
                ? imageOf({ Version: "$Default", ...spec })
                : main,
        };
      }),
    ];
  }

  /** Why the group cannot launch this AMI now, if it cannot. */
  launchFailure(group: SandboxGroup, imageId: string): string | undefined {
    const image = this.ec2.images.get(imageId);
    if (!image) return `The image id '[${imageId}]' does not exist`;
    for (const snapshotId of image.snapshotIds) {
      const key = this.ec2.snapshots.get(snapshotId)?.kmsKeyId;
      if (key && !this.kms.usableBy(key, group.serviceLinkedRoleArn, this.clock.now())) {
        return "Instance failed to launch: Client.InternalError: Client error on launch";
      }
    }
    return undefined;
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
    const paths = this.#templateSpecOf(refresh.desiredConfiguration)
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

  #describeGroup(group: SandboxGroup) {
    return {
      AutoScalingGroupName: group.name,
      AutoScalingGroupARN: `arn:aws:autoscaling:${group.region}:${group.accountId}:autoScalingGroup:${createHash("sha256").update(group.name).digest("hex").slice(0, 8)}:autoScalingGroupName/${group.name}`,
      DesiredCapacity: group.desiredCapacity,
      MinSize: 0,
      MaxSize: group.desiredCapacity * 2,
      // Required members of the API model's AutoScalingGroup; their values do not matter here.
      DefaultCooldown: 300,
      AvailabilityZones: [`${group.region}a`],
      HealthCheckType: "EC2",
      CreatedTime: new Date("2024-01-01T00:00:00Z"),
      ServiceLinkedRoleARN: group.serviceLinkedRoleArn,
      Tags: Object.entries(group.tags).map(([Key, Value]) => ({
        Key,
        Value,
        ResourceId: group.name,
        ResourceType: "auto-scaling-group",
        PropagateAtLaunch: true,
      })),
      ...(group.launchTemplate ? { LaunchTemplate: group.launchTemplate } : {}),
      ...(group.mixedInstancesPolicy ? { MixedInstancesPolicy: group.mixedInstancesPolicy } : {}),
      ...(group.launchConfigurationName
        ? { LaunchConfigurationName: group.launchConfigurationName }
        : {}),
    };
  }

  readonly operations = {
    // API reference, DescribeScalingActivities: newest first, MaxRecords 1-100 (default 100),
    // NextToken; an unknown group answers an empty list.
    DescribeScalingActivities: (call: CallContext) => {
      const name = call.input.AutoScalingGroupName as string | undefined;
      const matching = this.activities
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
        Activities: matching.slice(start, start + pageSize).map((activity) => ({
          ActivityId: activity.id,
          AutoScalingGroupName: activity.group.name,
          Description: activity.description,
          Cause: activity.cause,
          StartTime: new Date(activity.startTime),
          EndTime: new Date(activity.endTime),
          StatusCode: activity.statusCode,
          ...(activity.statusMessage ? { StatusMessage: activity.statusMessage } : {}),
          Progress: 100,
        })),
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
      const matching = [...this.groups.values()]
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
        AutoScalingGroups: matching
          .slice(start, start + pageSize)
          .map((group) => this.#describeGroup(group)),
        ...(start + pageSize < matching.length ? { NextToken: String(start + pageSize) } : {}),
      };
    },

    StartInstanceRefresh: (call: CallContext) => {
      const group = this.#group(call, call.input.AutoScalingGroupName);
      if (this.refreshesOf(group).some((refresh) => ACTIVE.has(refresh.status))) {
        throw awsError(
          "InstanceRefreshInProgressFault",
          "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
        );
      }
      const desired = (call.input.DesiredConfiguration ??
        {}) as SandboxRefresh["desiredConfiguration"];
      const preferences = (call.input.Preferences ?? {}) as Record<string, unknown>;
      // "Instance refresh fails if you start it with skip matching, or with a desired
      // configuration, on an Auto Scaling group that uses attribute-based instance type
      // selection" (EC2 Auto Scaling user guide, instance-refresh-overview, "Limitations"). The
      // exact error text is not documented: a ValidationError, as for the documented refusals.
      // "start it with the SkipMatching parameter" is read as the parameter being present at
      // all, even false: the stricter reading, so the orchestrator never relies on the other.
      if (usesInstanceRequirements(group.mixedInstancesPolicy)) {
        if (preferences.SkipMatching !== undefined)
          throw awsError(
            "ValidationError",
            "The request isn't valid. Skip matching is not supported for Auto Scaling groups that use attribute-based instance type selection (InstanceRequirements).",
          );
        if (this.#templateSpecOf(desired))
          throw awsError(
            "ValidationError",
            "The request isn't valid. A desired configuration is not supported for Auto Scaling groups that use attribute-based instance type selection (InstanceRequirements).",
          );
      }
      // The ReplaceRootVolume strategy needs a desired configuration with a mixed instances
      // policy whose every override names an ImageId, and AMIs with a single root volume (user
      // guide instance-refresh-overview, "Requirements for the replace root volume strategy";
      // API model LaunchTemplateOverrides.ImageId: "All overrides in the MixedInstancesPolicy
      // must specify an ImageId", "The AMI must contain only a single root volume").
      if (call.input.Strategy === "ReplaceRootVolume") {
        // "You can't start an instance refresh with Replace Root Volume if the EC2 Auto Scaling
        // group or the instance refresh desired configuration uses the $Latest or $Default
        // launch template version" (user guide, replace-root-volume, "Limitations").
        const groupVersion =
          (
            group.launchTemplate ??
            group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification
          )?.Version ?? "$Default";
        const desiredVersion = this.#templateSpecOf(desired)?.Version ?? "$Default";
        if ([groupVersion, desiredVersion].some((version) => version.startsWith("$")))
          throw awsError(
            "ValidationError",
            "The request isn't valid. You can't use the ReplaceRootVolume strategy when the Auto Scaling group or the desired configuration uses the $Latest or $Default launch template version.",
          );
        const overrides = desired.MixedInstancesPolicy?.LaunchTemplate.Overrides ?? [];
        if (
          !desired.MixedInstancesPolicy ||
          overrides.length === 0 ||
          overrides.some((override) => typeof override.ImageId !== "string")
        )
          throw awsError(
            "ValidationError",
            "The request isn't valid. The ReplaceRootVolume strategy requires a desired configuration with a mixed instances policy in which every override specifies an ImageId.",
          );
        for (const override of overrides) {
          const image = this.ec2.images.get(String(override.ImageId));
          if (image && image.snapshotIds.length > 1)
            throw awsError(
              "ValidationError",
              `The request isn't valid. The ReplaceRootVolume strategy supports only AMIs with a single root volume (${String(override.ImageId)} has ${image.snapshotIds.length} volumes).`,
            );
        }
      }
      // Rollback (auto or manual) is refused without a desired configuration, and while the
      // GROUP ITSELF uses $Latest/$Default (a numbered version in the desired configuration is
      // not enough): "The rollback option is not available if the Auto Scaling group is
      // configured to use the $Latest or $Default launch template version" (EC2 Auto Scaling
      // user guide, instance-refresh-rollback; API reference RefreshPreferences.AutoRollback).
      // The exact error text StartInstanceRefresh returns is not documented: a ValidationError,
      // as for the documented "AutoRollback ... when the DesiredConfiguration parameter is empty".
      if (preferences.AutoRollback) {
        const current =
          group.launchTemplate ??
          group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;
        const currentVersion = current?.Version ?? "$Default";
        if (!this.#templateSpecOf(desired)) {
          throw awsError(
            "ValidationError",
            "The request isn't valid. The AutoRollback parameter cannot be set to true when the DesiredConfiguration parameter is empty. Set AutoRollback to false or specify a desired configuration and try again.",
          );
        }
        if (currentVersion === "$Latest" || currentVersion === "$Default") {
          throw awsError(
            "ValidationError",
            `The request isn't valid. AutoRollback is not supported when the Auto Scaling group uses the launch template version ${currentVersion}. Specify a launch template version number on the Auto Scaling group and try again.`,
          );
        }
        // ...nor when the group's launch template takes its AMI from an SSM parameter
        // (RefreshPreferences.AutoRollback, API reference).
        const template =
          current && this.ec2.findTemplate(group, current as Record<string, unknown>);
        const imageId = template && this.ec2.resolveVersion(template, currentVersion)?.data.ImageId;
        if (String(imageId ?? "").startsWith("resolve:ssm:")) {
          throw awsError(
            "ValidationError",
            "The request isn't valid. AutoRollback is not supported when the launch template of the Auto Scaling group uses a Systems Manager parameter instead of an AMI ID.",
          );
        }
        const desiredVersion = this.#templateSpecOf(desired)?.Version;
        if (!desiredVersion || desiredVersion.startsWith("$")) {
          throw awsError(
            "ValidationError",
            "You can't enable auto rollback when the desired configuration uses $Latest or $Default.",
          );
        }
      }
      const refresh: SandboxRefresh = {
        id: createHash("sha256")
          .update(`${group.name}|${this.refreshes.length}|${this.clock.now()}`)
          .digest("hex")
          .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, "$1-$2-$3-$4-$5"),
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
      return { InstanceRefreshId: refresh.id };
    },

    /**
     * Changes what the next launch uses; "Existing instances continue to run with the
     * configuration that they were originally launched with" (API reference
     * UpdateAutoScalingGroup). Properties not given are not changed.
     */
    UpdateAutoScalingGroup: (call: CallContext) => {
      const group = this.#group(call, call.input.AutoScalingGroupName);
      const launchTemplate = call.input.LaunchTemplate as TemplateSpec | undefined;
      const policy = call.input.MixedInstancesPolicy as MixedPolicy | undefined;
      // "Updating the launch template or mixed instances policy of an Auto Scaling group fails
      // while an instance refresh with a desired configuration is active" (user guide,
      // instance-refresh-overview, "Limitations"); AWS answers "An active instance refresh with
      // a desired configuration exists…" (AWS-FACTS section 11).
      if (
        (launchTemplate || policy) &&
        this.refreshesOf(group).some(
          (refresh) =>
            ACTIVE.has(refresh.status) && this.#templateSpecOf(refresh.desiredConfiguration),
        )
      )
        throw awsError(
          "ValidationError",
          "An active instance refresh with a desired configuration exists. All configuration options derived from the desired configuration are not available for update while the instance refresh is active.",
        );
      const spec = launchTemplate ?? policy?.LaunchTemplate?.LaunchTemplateSpecification;
      if (spec) {
        const template = this.ec2.findTemplate(group, spec as Record<string, unknown>);
        if (spec.Version && !this.ec2.resolveVersion(template, spec.Version)) {
          throw awsError(
            "ValidationError",
            `The specified launch template version ${spec.Version} does not exist.`,
          );
        }
      }
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
        input: call.input,
      });
      return {};
    },

    CancelInstanceRefresh: (call: CallContext) => {
      const group = this.#group(call, call.input.AutoScalingGroupName);
      // "Cancels an instance refresh or rollback that is in progress" (API reference,
      // CancelInstanceRefresh): one already cancelling is not in progress any more.
      const active = this.refreshesOf(group).find(
        (refresh) => ACTIVE.has(refresh.status) && refresh.status !== "Cancelling",
      );
      if (!active)
        throw awsError(
          "ActiveInstanceRefreshNotFoundFault",
          "No in progress or pending Instance Refresh found for Auto Scaling group",
        );
      this.#set(active, "Cancelling");
      this.clock.after(60_000, () => this.#set(active, "Cancelled"));
      return { InstanceRefreshId: active.id };
    },

    DescribeInstanceRefreshes: (call: CallContext) => {
      const group = this.#group(call, call.input.AutoScalingGroupName);
      const ids = call.input.InstanceRefreshIds as string[] | undefined;
      const refreshes = this.refreshesOf(group)
        .filter((refresh) => !ids || ids.includes(refresh.id))
        .sort((a, b) => b.startTime - a.startTime)
        .slice(0, Number(call.input.MaxRecords ?? 50));
      return {
        InstanceRefreshes: refreshes.map((refresh) => ({
          InstanceRefreshId: refresh.id,
          AutoScalingGroupName: group.name,
          Status: refresh.status,
          ...(refresh.statusReason ? { StatusReason: refresh.statusReason } : {}),
          PercentageComplete: refresh.percentageComplete,
          StartTime: new Date(refresh.startTime),
          ...(refresh.endTime ? { EndTime: new Date(refresh.endTime) } : {}),
          DesiredConfiguration: refresh.desiredConfiguration,
          Preferences: refresh.preferences,
        })),
      };
    },
  };
}
