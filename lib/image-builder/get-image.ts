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
    ...(image.distributionConfiguration
      ? { distributions: parseDistributions(image.distributionConfiguration.distributions) }
      : {}),
  };
};
