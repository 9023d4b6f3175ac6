import { GetImageCommand, type ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { OrchestratorError } from "../errors.ts";
import {
  type DistributedAmi,
  type ImageStateChange,
  parseDistributions,
} from "../events/image-state.ts";

/** Region of an Image Builder image ARN: GetImage must be called there. */
export const regionOfImageArn = (arn: string): string | undefined => arn.split(":")[3] || undefined;

/**
 * Completes an EventBridge state change, which carries only the ARN and status, with what the
 * SNS notification would have said: the pipeline, the distributed AMIs, how they were distributed
 * (copied or shared) and the failure reason.
 */
export const completeFromGetImage = async (
  client: ImagebuilderClient,
  change: ImageStateChange,
): Promise<ImageStateChange & { amis: readonly DistributedAmi[] }> => {
  const { image } = await client.send(
    new GetImageCommand({ imageBuildVersionArn: change.imageArn }),
  );
  if (!image)
    throw new OrchestratorError(`GetImage ${change.imageArn} returned no image`, {
      retryable: true,
    });
  const amis = (image.outputResources?.amis ?? []).flatMap((ami) =>
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
  const reason = change.reason ?? image.state?.reason;
  return {
    ...change,
    ...(image.sourcePipelineArn ? { pipelineArn: image.sourcePipelineArn } : {}),
    ...(image.name ? { name: image.name } : {}),
    ...(image.version ? { version: image.version } : {}),
    ...(reason ? { reason } : {}),
    amis,
    ...(image.distributionConfiguration
      ? { distributions: parseDistributions(image.distributionConfiguration.distributions) }
      : {}),
  };
};
