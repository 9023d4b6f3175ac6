import { createHash } from "node:crypto";
import type { SandboxActivity, SandboxGroup, SandboxRefresh } from "./state.ts";

/** The model's records as the EC2 Auto Scaling API answers them (API model shapes). */

/** AutoScalingGroup, as DescribeAutoScalingGroups lists it. */
export const groupShape = (group: SandboxGroup) => ({
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
});

/** Activity, as DescribeScalingActivities lists it. */
export const activityShape = (activity: SandboxActivity) => ({
  ActivityId: activity.id,
  AutoScalingGroupName: activity.group.name,
  Description: activity.description,
  Cause: activity.cause,
  StartTime: new Date(activity.startTime),
  EndTime: new Date(activity.endTime),
  StatusCode: activity.statusCode,
  ...(activity.statusMessage ? { StatusMessage: activity.statusMessage } : {}),
  Progress: 100,
});

/** InstanceRefresh, as DescribeInstanceRefreshes lists it. */
export const refreshShape = (refresh: SandboxRefresh) => ({
  InstanceRefreshId: refresh.id,
  AutoScalingGroupName: refresh.group.name,
  Status: refresh.status,
  ...(refresh.statusReason ? { StatusReason: refresh.statusReason } : {}),
  PercentageComplete: refresh.percentageComplete,
  StartTime: new Date(refresh.startTime),
  ...(refresh.endTime ? { EndTime: new Date(refresh.endTime) } : {}),
  DesiredConfiguration: refresh.desiredConfiguration,
  Preferences: refresh.preferences,
});
