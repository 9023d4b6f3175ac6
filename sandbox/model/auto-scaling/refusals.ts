import type { Ec2Model } from "../ec2.ts";
import { awsError } from "../errors.ts";
import {
  ACTIVE,
  type LaunchConfiguration,
  type MixedPolicy,
  type SandboxGroup,
  type SandboxRefresh,
  type TemplateSpec,
  templateSpecOf,
  usesInstanceRequirements,
} from "./state.ts";

/**
 * What StartInstanceRefresh and UpdateAutoScalingGroup refuse, with the errors AWS answers, each
 * with its source. Each throws; the model changes nothing before all of them passed.
 */

/** A refresh request, as StartInstanceRefresh takes it. */
export interface RefreshRequest {
  readonly desired: LaunchConfiguration;
  readonly preferences: Record<string, unknown>;
  readonly strategy: unknown;
}

/** Refuses a StartInstanceRefresh the group cannot take. */
export const refuseRefresh = (
  ec2: Ec2Model,
  group: SandboxGroup,
  refreshes: readonly SandboxRefresh[],
  { desired, preferences, strategy }: RefreshRequest,
): void => {
  if (refreshes.some((refresh) => ACTIVE.has(refresh.status))) {
    throw awsError(
      "InstanceRefreshInProgressFault",
      "An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.",
    );
  }
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
    if (templateSpecOf(desired))
      throw awsError(
        "ValidationError",
        "The request isn't valid. A desired configuration is not supported for Auto Scaling groups that use attribute-based instance type selection (InstanceRequirements).",
      );
  }
  if (strategy === "ReplaceRootVolume") refuseReplaceRootVolume(ec2, group, desired);
  if (preferences.AutoRollback) refuseAutoRollback(ec2, group, desired);
};

/**
 * The ReplaceRootVolume strategy needs a desired configuration with a mixed instances policy
 * whose every override names an ImageId, and AMIs with a single root volume (user guide
 * instance-refresh-overview, "Requirements for the replace root volume strategy"; API model
 * LaunchTemplateOverrides.ImageId: "All overrides in the MixedInstancesPolicy must specify an
 * ImageId", "The AMI must contain only a single root volume").
 */
const refuseReplaceRootVolume = (
  ec2: Ec2Model,
  group: SandboxGroup,
  desired: LaunchConfiguration,
): void => {
  // "You can't start an instance refresh with Replace Root Volume if the EC2 Auto Scaling
  // group or the instance refresh desired configuration uses the $Latest or $Default
  // launch template version" (user guide, replace-root-volume, "Limitations").
  const groupVersion =
    (group.launchTemplate ?? group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification)
      ?.Version ?? "$Default";
  const desiredVersion = templateSpecOf(desired)?.Version ?? "$Default";
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
    const image = ec2.images.get(String(override.ImageId));
    if (image && image.snapshotIds.length > 1)
      throw awsError(
        "ValidationError",
        `The request isn't valid. The ReplaceRootVolume strategy supports only AMIs with a single root volume (${String(override.ImageId)} has ${image.snapshotIds.length} volumes).`,
      );
  }
};

/**
 * Rollback (auto or manual) is refused without a desired configuration, and while the GROUP
 * ITSELF uses $Latest/$Default (a numbered version in the desired configuration is not enough):
 * "The rollback option is not available if the Auto Scaling group is configured to use the
 * $Latest or $Default launch template version" (EC2 Auto Scaling user guide,
 * instance-refresh-rollback; API reference RefreshPreferences.AutoRollback). The exact error text
 * StartInstanceRefresh returns is not documented: a ValidationError, as for the documented
 * "AutoRollback ... when the DesiredConfiguration parameter is empty".
 */
const refuseAutoRollback = (
  ec2: Ec2Model,
  group: SandboxGroup,
  desired: LaunchConfiguration,
): void => {
  const current =
    group.launchTemplate ?? group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;
  const currentVersion = current?.Version ?? "$Default";
  if (!templateSpecOf(desired)) {
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
  const template = current && ec2.findTemplate(group, current as Record<string, unknown>);
  const imageId = template && ec2.resolveVersion(template, currentVersion)?.data.ImageId;
  if (String(imageId ?? "").startsWith("resolve:ssm:")) {
    throw awsError(
      "ValidationError",
      "The request isn't valid. AutoRollback is not supported when the launch template of the Auto Scaling group uses a Systems Manager parameter instead of an AMI ID.",
    );
  }
  const desiredVersion = templateSpecOf(desired)?.Version;
  if (!desiredVersion || desiredVersion.startsWith("$")) {
    throw awsError(
      "ValidationError",
      "You can't enable auto rollback when the desired configuration uses $Latest or $Default.",
    );
  }
};

/** Refuses an UpdateAutoScalingGroup that changes what launches while it cannot. */
export const refuseUpdate = (
  ec2: Ec2Model,
  group: SandboxGroup,
  refreshes: readonly SandboxRefresh[],
  launchTemplate: TemplateSpec | undefined,
  policy: MixedPolicy | undefined,
): void => {
  // "Updating the launch template or mixed instances policy of an Auto Scaling group fails
  // while an instance refresh with a desired configuration is active" (user guide,
  // instance-refresh-overview, "Limitations"); AWS answers "An active instance refresh with
  // a desired configuration exists…" (AWS-FACTS section 11).
  if (
    (launchTemplate || policy) &&
    refreshes.some(
      (refresh) => ACTIVE.has(refresh.status) && templateSpecOf(refresh.desiredConfiguration),
    )
  )
    throw awsError(
      "ValidationError",
      "An active instance refresh with a desired configuration exists. All configuration options derived from the desired configuration are not available for update while the instance refresh is active.",
    );
  const spec = launchTemplate ?? policy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (spec) {
    const template = ec2.findTemplate(group, spec as Record<string, unknown>);
    if (spec.Version && !ec2.resolveVersion(template, spec.Version)) {
      throw awsError(
        "ValidationError",
        `The specified launch template version ${spec.Version} does not exist.`,
      );
    }
  }
};
