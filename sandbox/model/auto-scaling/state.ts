import { createHash } from "node:crypto";

/**
 * The state the sandbox's EC2 Auto Scaling keeps: groups, instance refreshes and scaling
 * activities, as records the model changes in place (the API shapes are in shapes.ts).
 */

export interface TemplateSpec {
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

/** What a refresh launches: a launch template, or a mixed instances policy (or neither). */
export interface LaunchConfiguration {
  LaunchTemplate?: TemplateSpec;
  MixedInstancesPolicy?: MixedPolicy;
}

export interface SandboxRefresh {
  readonly id: string;
  readonly group: SandboxGroup;
  status: RefreshStatus;
  statusReason?: string;
  percentageComplete: number;
  readonly startTime: number;
  endTime?: number;
  readonly desiredConfiguration: LaunchConfiguration;
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

/** How long simulated refreshes take. */
export interface RefreshDurations {
  readonly firstLaunchMs: number;
  readonly completeMs: number;
}

/** Every non-terminal InstanceRefreshStatus of the API model. */
export const ACTIVE: ReadonlySet<RefreshStatus> = new Set([
  "Pending",
  "InProgress",
  "Baking",
  "Cancelling",
  "RollbackInProgress",
]);

/** The template a configuration names: its own, or its mixed instances policy's. */
export const templateSpecOf = (configuration: LaunchConfiguration): TemplateSpec | undefined =>
  configuration.LaunchTemplate ??
  configuration.MixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;

/** The group's own configuration, as it is saved on the group. */
export const groupConfiguration = (group: SandboxGroup): LaunchConfiguration => ({
  ...(group.launchTemplate ? { LaunchTemplate: group.launchTemplate } : {}),
  ...(group.mixedInstancesPolicy ? { MixedInstancesPolicy: group.mixedInstancesPolicy } : {}),
});

/** Whether a mixed instances policy chooses instance types by attributes (InstanceRequirements). */
export const usesInstanceRequirements = (policy: MixedPolicy | undefined): boolean =>
  (policy?.LaunchTemplate.Overrides ?? []).some(
    (override) => override.InstanceRequirements !== undefined,
  );

/** A UUID-shaped id derived from what makes the record unique (deterministic runs). */
export const uuidFrom = (seed: string): string =>
  createHash("sha256")
    .update(seed)
    .digest("hex")
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, "$1-$2-$3-$4-$5");
