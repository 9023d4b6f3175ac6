import { type EC2Client, paginateDescribeImages } from "@aws-sdk/client-ec2";
import type { DiscoveredGroup } from "./groups.ts";

/**
 * Overrides of a mixed instances policy may name their own AMI: `LaunchTemplateOverrides.ImageId`,
 * "The ID of the AMI to use for instances launched with this override" (Auto Scaling API model),
 * used by multi-architecture groups and required on every override by the `ReplaceRootVolume`
 * strategy. A refresh that only moves the template would leave those instances on their old AMI
 * and still succeed, so each such AMI is judged before the group is rolled:
 * - an earlier image of this pipeline, of the new AMI's architecture → replaced by the new AMI;
 * - an earlier image of this pipeline of another architecture → the group cannot be rolled
 *   (one image cannot serve it), and is reported;
 * - any other AMI (another pipeline's, typically the other architecture's) → left alone, and
 *   said so.
 */

export interface ImageFacts {
  readonly architecture?: string;
  /** The Image Builder image the AMI was built as (its `Ec2ImageBuilderArn` tag), when visible. */
  readonly builtAs?: string;
}

export interface OverrideImagePlan {
  /** Old AMI → the new one, for the overrides that get it. */
  readonly replacements: ReadonlyMap<string, string>;
  /** AMIs left as they are: not an image of this pipeline. */
  readonly kept: ReadonlyArray<{ readonly imageId: string; readonly reason: string }>;
  /** Earlier images of this pipeline the new AMI cannot replace: the group is not rolled. */
  readonly blocked: ReadonlyArray<{ readonly imageId: string; readonly reason: string }>;
}

export const NO_OVERRIDE_IMAGES: OverrideImagePlan = {
  replacements: new Map(),
  kept: [],
  blocked: [],
};

/**
 * Architecture and Image Builder origin of the given AMIs, in one call. A filter (not ImageIds)
 * so that an AMI deregistered since is simply absent instead of failing the whole call
 * (DescribeImages answers InvalidAMIID.NotFound for an explicit id it cannot find), and
 * deprecated and disabled AMIs are included: old ones often are, and a filtered call leaves them
 * out unless asked (`IncludeDeprecated`, `IncludeDisabled`, EC2 API reference, DescribeImages).
 */
export const describeImageFacts = async (
  ec2: EC2Client,
  imageIds: readonly string[],
): Promise<Map<string, ImageFacts>> => {
  const facts = new Map<string, ImageFacts>();
  if (imageIds.length === 0) return facts;
  // "We strongly recommend using only paginated requests" (API model, DescribeImages). Disabled
  // AMIs (an Image Builder lifecycle policy disables old ones) are asked for too.
  const images = [];
  for await (const page of paginateDescribeImages(
    { client: ec2 },
    {
      Filters: [{ Name: "image-id", Values: [...imageIds] }],
      IncludeDeprecated: true,
      IncludeDisabled: true,
    },
  ))
    images.push(...(page.Images ?? []));
  for (const image of images) {
    if (!image.ImageId) continue;
    const builtAs = image.Tags?.find((tag) => tag.Key === "Ec2ImageBuilderArn")?.Value;
    facts.set(image.ImageId, {
      ...(image.Architecture ? { architecture: image.Architecture } : {}),
      ...(builtAs ? { builtAs } : {}),
    });
  }
  return facts;
};

/** `arn:…:image/<name>/<version>/<build>` → `arn:…:image/<name>`: the images of one recipe. */
const imageLineage = (imageArn: string): string | undefined =>
  /^(arn:[^:]+:imagebuilder:[^:]*:[^:]*:image\/[^/]+)(?:\/|$)/.exec(imageArn)?.[1]?.toLowerCase();

/**
 * What happens to each AMI the group's overrides name. `knownImageIds` are AMIs known to be
 * earlier images of this pipeline without their tags: the AMI the group's own template launches
 * now, and those our records show the pipeline rolled out to this target (tags of a shared AMI
 * are not visible to the target: "your user-defined tags are not available to any AWS account
 * that the AMI is shared with", EC2 user guide, sharingamis-explicit).
 */
export const planOverrideImages = (
  group: Pick<DiscoveredGroup, "overrideImageIds">,
  rollout: { readonly amiId: string; readonly imageArn: string },
  knownImageIds: ReadonlySet<string>,
  facts: ReadonlyMap<string, ImageFacts>,
): OverrideImagePlan => {
  if (group.overrideImageIds.length === 0) return NO_OVERRIDE_IMAGES;
  const newArchitecture = facts.get(rollout.amiId)?.architecture;
  const lineage = imageLineage(rollout.imageArn);
  const replacements = new Map<string, string>();
  const kept: Array<{ imageId: string; reason: string }> = [];
  const blocked: Array<{ imageId: string; reason: string }> = [];
  for (const imageId of group.overrideImageIds) {
    if (imageId === rollout.amiId) continue;
    const known = facts.get(imageId);
    const ours =
      knownImageIds.has(imageId) ||
      (lineage !== undefined &&
        known?.builtAs !== undefined &&
        imageLineage(known.builtAs) === lineage);
    if (!ours) {
      kept.push({
        imageId,
        reason: known
          ? `${imageId}${known.architecture ? ` (${known.architecture})` : ""} is not an image of this pipeline: left as it is`
          : `${imageId} is not visible in the account (deregistered?): left as it is`,
      });
      continue;
    }
    if (
      known?.architecture !== undefined &&
      newArchitecture !== undefined &&
      known.architecture !== newArchitecture
    ) {
      blocked.push({
        imageId,
        reason: `an override launches ${imageId} (${known.architecture}), an earlier image of this pipeline, but the new AMI ${rollout.amiId} is ${newArchitecture}: one image cannot serve both architectures; build one pipeline per architecture and name each override's AMI from its own`,
      });
      continue;
    }
    replacements.set(imageId, rollout.amiId);
  }
  return { replacements, kept, blocked };
};
