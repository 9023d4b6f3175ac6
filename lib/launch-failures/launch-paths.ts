import type {
  AutoScalingGroup,
  DesiredConfiguration,
  InstanceRefresh,
  LaunchTemplateSpecification,
} from "@aws-sdk/client-auto-scaling";
import type { LaunchTemplateReference } from "../auto-scaling/groups.ts";

/**
 * What a group could have launched when a launch failed. The `EC2 Instance Launch Unsuccessful`
 * event names no template, instance type or AMI (EC2 Auto Scaling user guide, event reference:
 * its `Details` carry only the Availability Zone and subnet), so every launch path in force is a
 * suspect: the main template, and each override's own template or AMI.
 */

/** One way a configuration launches an instance. */
export type LaunchPath =
  | {
      readonly via: "launch template" | "main template";
      readonly template: LaunchTemplateReference;
    }
  | { readonly via: `override for ${string}`; readonly template: LaunchTemplateReference }
  | { readonly via: `override for ${string}`; readonly imageId: string };

/** A configuration in force when the launch failed, and who applies it. */
export interface LaunchSource {
  /** "group web-api", or "instance refresh 1a2b… (InProgress)". */
  readonly label: string;
  readonly paths: readonly LaunchPath[];
}

type Configuration = Pick<DesiredConfiguration, "LaunchTemplate" | "MixedInstancesPolicy">;

/** Statuses in which a refresh's rollback launches the group's saved configuration. */
const ROLLING_BACK: ReadonlySet<string> = new Set([
  "RollbackInProgress",
  "RollbackSuccessful",
  "RollbackFailed",
]);

/** EventBridge's `time` is whole seconds: the launch happened within the second after it. */
const EVENT_TIME_PRECISION_MS = 1_000;

const referenceFrom = (
  spec: LaunchTemplateSpecification | undefined,
): LaunchTemplateReference | undefined => {
  if (!spec || (!spec.LaunchTemplateId && !spec.LaunchTemplateName)) return undefined;
  return {
    ...(spec.LaunchTemplateId ? { launchTemplateId: spec.LaunchTemplateId } : {}),
    ...(spec.LaunchTemplateName ? { launchTemplateName: spec.LaunchTemplateName } : {}),
    // "The default value is $Default" (API model, LaunchTemplateSpecification.Version).
    version: spec.Version ?? "$Default",
  };
};

/**
 * Every launch path of a configuration. A top-level launch template has one (a desired
 * configuration with only a template replaces the policy). In a mixed instances policy an
 * override's `ImageId` is "The ID of the Amazon Machine Image (AMI) to use for instances launched
 * with this override", and its own LaunchTemplateSpecification replaces the policy's template
 * for it (API model, LaunchTemplateOverrides); an override with neither uses the main template.
 */
export const launchPathsOf = (configuration: Configuration): LaunchPath[] => {
  const top = referenceFrom(configuration.LaunchTemplate);
  if (configuration.LaunchTemplate) return top ? [{ via: "launch template", template: top }] : [];
  const policy = configuration.MixedInstancesPolicy?.LaunchTemplate;
  const main = referenceFrom(policy?.LaunchTemplateSpecification);
  const paths: LaunchPath[] = main ? [{ via: "main template", template: main }] : [];
  for (const override of policy?.Overrides ?? []) {
    const via = `override for ${override.InstanceType ?? "its instance requirements"}` as const;
    const own = referenceFrom(override.LaunchTemplateSpecification);
    if (override.ImageId) paths.push({ via, imageId: override.ImageId });
    else if (own) paths.push({ via, template: own });
  }
  return paths;
};

/** The refresh running when the launch failed (`refreshes` newest first, as AWS lists them). */
export const refreshAt = (
  refreshes: readonly InstanceRefresh[],
  launchedAt: number,
): InstanceRefresh | undefined =>
  refreshes.find((refresh) => {
    const start = refresh.StartTime?.getTime() ?? Number.NEGATIVE_INFINITY;
    const end = refresh.EndTime?.getTime() ?? Number.POSITIVE_INFINITY;
    return start < launchedAt + EVENT_TIME_PRECISION_MS && launchedAt <= end;
  });

/**
 * The configurations that may have launched. "If a scale-out event occurs during an instance
 * refresh, Amazon EC2 Auto Scaling launches new instances with the desired configuration instead
 * of the group's current settings" (EC2 Auto Scaling user guide, instance refresh core concepts,
 * "Desired configuration"). A rollback's "new instances match the configuration that you last
 * saved on the Auto Scaling group" (user guide, instance-refresh-rollback), but the failure may
 * be the refresh's own launch that made it roll back: a refresh rolling back (or rolled back)
 * since the launch leaves both suspects, its desired configuration first.
 */
export const launchSources = (
  group: AutoScalingGroup,
  refresh: InstanceRefresh | undefined,
): LaunchSource[] => {
  const saved: LaunchSource = {
    label: `group ${group.AutoScalingGroupName ?? "?"}`,
    paths: launchPathsOf(group),
  };
  const desired = refresh?.DesiredConfiguration;
  if (!refresh || !(desired?.LaunchTemplate || desired?.MixedInstancesPolicy)) return [saved];
  const fromRefresh: LaunchSource = {
    label: `instance refresh ${refresh.InstanceRefreshId ?? "?"} (${refresh.Status ?? "?"})`,
    paths: launchPathsOf(desired),
  };
  return ROLLING_BACK.has(refresh.Status ?? "") ? [fromRefresh, saved] : [fromRefresh];
};
