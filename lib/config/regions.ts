import { partition } from "@aws-sdk/util-endpoints";

/**
 * Regions and partitions as the AWS SDK knows them: its endpoint data (`partitions.json`, shipped
 * and updated with every SDK release), read through the SDK's public `partition()` lookup rather
 * than a list of our own. Config validation only: the Lambda bundles read the config as
 * validated JSON and never load this module.
 */

/** The partition (`aws`, `aws-cn`, `aws-us-gov`, ...) of a region the SDK knows, else undefined. */
export const partitionOf = (region: string): string | undefined => {
  // Region codes end in a number; the SDK also lists pseudo-regions such as `aws-global`.
  if (!/^[a-z]+(-[a-z]+)+-\d+$/.test(region)) return undefined;
  // partition() falls back to `aws` for any unknown name; a known region carries a description.
  const found = partition(region) as { name: string; description?: string };
  return found.description === undefined ? undefined : found.name;
};

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-";

/** Every string one edit (insertion, deletion, substitution, swap of neighbours) from `text`. */
const oneEditAway = (text: string): Set<string> => {
  const edits = new Set<string>();
  for (let index = 0; index <= text.length; index++) {
    const [head, tail] = [text.slice(0, index), text.slice(index)];
    if (tail) edits.add(head + tail.slice(1));
    if (tail.length > 1) edits.add(head + (tail[1] ?? "") + (tail[0] ?? "") + tail.slice(2));
    for (const letter of ALPHABET) {
      edits.add(head + letter + tail);
      if (tail) edits.add(head + letter + tail.slice(1));
    }
  }
  edits.delete(text);
  return edits;
};

/** Known regions one typo away from `region`, for "did you mean". */
const regionsNear = (region: string): string[] =>
  [...oneEditAway(region)].filter((candidate) => partitionOf(candidate) !== undefined).sort();

/** Why `region` is not a region of any partition the SDK knows, if it is not one. */
export const unknownRegionProblem = (region: string): string | undefined => {
  if (partitionOf(region) !== undefined) return undefined;
  const near = regionsNear(region);
  return near.length > 0
    ? `unknown region ${region} (did you mean ${near.join(" or ")}?)`
    : `unknown region ${region}: not a region of any AWS partition (such as "eu-west-1", "cn-north-1", "us-gov-west-1")`;
};

/**
 * Why an ARN's partition and region cannot go together, if they cannot: the region is unknown,
 * or it belongs to another partition (`arn:aws-cn:...:eu-west-1:...`).
 */
export const arnRegionProblem = (arnPartition: string, region: string): string | undefined => {
  const unknown = unknownRegionProblem(region);
  if (unknown) return unknown;
  const actual = partitionOf(region);
  return actual === arnPartition
    ? undefined
    : `partition "${arnPartition}" does not match region ${region}, which is in partition "${actual}"`;
};
