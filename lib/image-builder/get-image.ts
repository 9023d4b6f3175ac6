import { GetImageCommand, type ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { OrchestratorError } from "../errors.ts";
import {
  cutReason,
  type DistributedAmi,
  type ImageStateChange,
  MAX_AMIS,
  parseDistributions,
} from "../events/image-state.ts";

/** Region of an Image Builder image ARN: GetImage must be called there. */
export const regionOfImageArn = (arn: string): string | undefined => arn.split(":")[3] || undefined;

/** What GetImage says about an image: the only account of it a rollout is planned from. */
export type ImageFromGetImage = ImageStateChange & {
  readonly amis: readonly DistributedAmi[];
  /** GetImage's `state.status` (the notification's status is kept in `notifiedStatus`). */
  readonly status: string;
  readonly notifiedStatus: string;
  /**
   * The image's tags (API model `Image.tags`): `build --changed` tags the images it starts with
   * the commit, ref, repository and input hash (lib/pipelines/build.ts), for the rollout's lineage.
   */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * The recipe it was built from (API model `Image.imageRecipe`: "the image recipe that Image
   * Builder used to create the image"), and its tags (a managed recipe names the commit of its
   * definitions).
   */
  readonly recipe?: {
    readonly arn: string;
    readonly name?: string;
    readonly version?: string;
    readonly tags?: Readonly<Record<string, string>>;
  };
};

/**
 * Reads the image with GetImage and describes it from that answer alone: status, pipeline
 * (`sourcePipelineArn`), distributed AMIs (`outputResources`) and how they were distributed
 * (`distributionConfiguration`). Whatever the notification claimed about these is dropped: an SNS
 * message is a hint that something happened, written by whoever could publish to the topic.
 */
export const completeFromGetImage = async (
  client: ImagebuilderClient,
  change: ImageStateChange,
): Promise<ImageFromGetImage> => {
  const { image } = await client.send(
    new GetImageCommand({ imageBuildVersionArn: change.imageArn }),
  );
  if (!image)
    throw new OrchestratorError(`GetImage ${change.imageArn} returned no image`, {
      retryable: true,
    });
  const listed = image.outputResources?.amis ?? [];
  if (listed.length > MAX_AMIS) {
    throw new OrchestratorError(
      `GetImage ${change.imageArn} lists ${listed.length} AMIs, more than the ${MAX_AMIS} its distribution configuration can produce`,
    );
  }
  const amis = listed.flatMap((ami) =>
    ami.region && ami.image && ami.accountId
      ? [
          {
            region: ami.region,
            image: ami.image,
            accountId: ami.accountId,
            ...(ami.name ? { name: ami.name } : {}),
          },
        ]
      : [],
  );
  const reason = image.state?.reason ?? change.reason;
  return {
    // Of the notification, only how it was delivered is kept.
    source: change.source,
    imageArn: change.imageArn,
    ...(change.previousStatus ? { previousStatus: change.previousStatus } : {}),
    ...(change.deliveryId ? { deliveryId: change.deliveryId } : {}),
    ...(change.topicArn ? { topicArn: change.topicArn } : {}),
    // A missing status never matches the notified one: the caller rejects it.
    status: image.state?.status ?? "UNKNOWN",
    notifiedStatus: change.status,
    ...(image.sourcePipelineArn ? { pipelineArn: image.sourcePipelineArn } : {}),
    ...(image.name ? { name: image.name } : {}),
    ...(image.version ? { version: image.version } : {}),
    ...(reason ? { reason: cutReason(reason) } : {}),
    amis,
    ...(image.tags && Object.keys(image.tags).length > 0 ? { tags: { ...image.tags } } : {}),
    ...(image.imageRecipe?.arn
      ? {
          recipe: {
            arn: image.imageRecipe.arn,
            ...(image.imageRecipe.name ? { name: image.imageRecipe.name } : {}),
            ...(image.imageRecipe.version ? { version: image.imageRecipe.version } : {}),
            ...(image.imageRecipe.tags ? { tags: { ...image.imageRecipe.tags } } : {}),
          },
        }
      : {}),
    ...(image.distributionConfiguration
      ? { distributions: parseDistributions(image.distributionConfiguration.distributions) }
      : {}),
  };
};
