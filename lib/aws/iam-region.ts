import { IAMClient } from "@aws-sdk/client-iam";

const known = new Map<string, string>();

/**
 * The region of IAM's global endpoint in the partition of `region`, as the IAM client's own
 * endpoint rules resolve it (@aws-sdk/client-iam's endpoint ruleset, the SDK's partition data):
 * aws → us-east-1 (iam.amazonaws.com), aws-cn → cn-north-1 (iam.cn-north-1.amazonaws.com.cn),
 * aws-us-gov → us-gov-west-1 (iam.us-gov.amazonaws.com); the AWS General Reference lists the same
 * ("AWS Identity and Access Management endpoints and quotas"). IAM is one service per partition:
 * every region of it reaches that endpoint, signed for that region. Never a region of our own,
 * so an account in aws-cn or aws-us-gov is not sent to us-east-1.
 */
export const iamRegionFor = (region: string): string => {
  const cached = known.get(region);
  if (cached) return cached;
  const client = new IAMClient({ region });
  const endpoint = client.config.endpointProvider({
    Region: region,
    UseFIPS: false,
    UseDualStack: false,
  });
  client.destroy();
  const schemes = (endpoint.properties?.authSchemes ?? []) as Array<{ signingRegion?: string }>;
  const signingRegion = schemes.find((scheme) => scheme.signingRegion)?.signingRegion;
  if (!signingRegion)
    throw new Error(`IAM's endpoint for region ${region} (${endpoint.url.href}) names no region`);
  known.set(region, signingRegion);
  return signingRegion;
};
