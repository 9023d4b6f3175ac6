import type { Ec2Model } from "../ec2.ts";
import type { KmsModel } from "../kms.ts";
import {
  groupConfiguration,
  type LaunchConfiguration,
  type SandboxGroup,
  type TemplateSpec,
  templateSpecOf,
} from "./state.ts";

/**
 * Which AMI a group launches, by launch path, and whether it can: the rule that matters is that
 * every customer-managed key encrypting the AMI's snapshots must have a propagated grant for the
 * group's service-linked role, or the launch fails the way AWS does ("Client.InternalError:
 * Client error on launch").
 */

/** The AMI a template version launches (`$Default` when the reference names no version). */
export const imageOfTemplate = (
  ec2: Ec2Model,
  group: SandboxGroup,
  spec: TemplateSpec | undefined,
): string => {
  const template = spec ? ec2.findTemplate(group, spec as Record<string, unknown>) : undefined;
  const version = template ? ec2.resolveVersion(template, spec?.Version ?? "$Default") : undefined;
  return String(version?.data.ImageId ?? "");
};

/**
 * The AMI one launch from a configuration uses. A desired configuration with only a launch
 * template replaces the policy. In a mixed instances policy the first override launches: with
 * the default "prioritized" On-Demand strategy "Amazon EC2 Auto Scaling launches your highest
 * priority instance types first" (API model, InstancesDistribution.OnDemandAllocationStrategy;
 * capacity is not modelled); its ImageId is "The ID of the Amazon Machine Image (AMI) to use for
 * instances launched with this override", else its own LaunchTemplateSpecification, else the
 * policy's template (API model, LaunchTemplateOverrides).
 */
export const imageLaunchedBy = (
  ec2: Ec2Model,
  group: SandboxGroup,
  configuration: LaunchConfiguration,
): string => {
  const first = configuration.LaunchTemplate
    ? undefined
    : configuration.MixedInstancesPolicy?.LaunchTemplate.Overrides?.[0];
  if (typeof first?.ImageId === "string") return first.ImageId;
  return imageOfTemplate(
    ec2,
    group,
    (first?.LaunchTemplateSpecification as TemplateSpec | undefined) ??
      templateSpecOf(configuration),
  );
};

/**
 * Every AMI a configuration launches, one per launch path: the main template's version, and
 * each override's own `ImageId` ("The ID of the AMI to use for instances launched with this
 * override", API model LaunchTemplateOverrides.ImageId) or else its own template's version
 * ("Provides a launch template for the specified instance type or set of instance
 * requirements", LaunchTemplateOverrides.LaunchTemplateSpecification), or else the main one.
 */
export const launchPathImages = (
  ec2: Ec2Model,
  group: SandboxGroup,
  configuration: LaunchConfiguration = groupConfiguration(group),
): Array<{ path: string; imageId: string }> => {
  const imageOf = (spec: TemplateSpec | undefined) => imageOfTemplate(ec2, group, spec);
  const main = imageOf(templateSpecOf(configuration));
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
};

/** Why the group cannot launch this AMI at `at`, if it cannot. */
export const launchFailure = (
  { ec2, kms }: { readonly ec2: Ec2Model; readonly kms: KmsModel },
  group: SandboxGroup,
  imageId: string,
  at: number,
): string | undefined => {
  const image = ec2.images.get(imageId);
  if (!image) return `The image id '[${imageId}]' does not exist`;
  for (const snapshotId of image.snapshotIds) {
    const key = ec2.snapshots.get(snapshotId)?.kmsKeyId;
    if (key && !kms.usableBy(key, group.serviceLinkedRoleArn, at)) {
      return "Instance failed to launch: Client.InternalError: Client error on launch";
    }
  }
  return undefined;
};
