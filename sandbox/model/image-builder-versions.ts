import { awsError } from "./errors.ts";

/**
 * Image Builder's semantic versions and the ARNs built from them.
 * Source: Image Builder user guide, "Semantic versioning in Image Builder"
 * (ibhow-semantic-versioning.html): `<major>.<minor>.<patch>/<build>`; the first three assigned,
 * each "any positive integer value, or zero, with an upper limit of 2^30-1"; the build assigned by
 * Image Builder; a selection may use `x` wildcards, and "all nodes to the right of the first
 * wildcard must also be wildcards" (`x.2.x` and `1.x.8` are errors); version ARNs end in three
 * nodes, build version ARNs in four.
 */

export type Version = readonly [number, number, number];

/** 2^30 − 1, the largest value of a version node (user guide, semantic versioning). */
export const MAX_VERSION_NODE = 2 ** 30 - 1;

/**
 * The name as ARNs spell it: the API model's ARN patterns only allow `[a-z0-9-_]` in the name
 * (e.g. ComponentBuildVersionArn), while ResourceName allows capitals and spaces; the sandbox
 * lowercases and turns spaces into hyphens.
 */
export const arnName = (name: string): string => name.toLowerCase().replace(/ /g, "-");

export const formatVersion = (version: Version): string => version.join(".");

/** `1.2.3` → [1, 2, 3]; anything else (wildcards, builds) → undefined. */
export const parseVersion = (text: string): Version | undefined => {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
};

export const compareVersions = (a: Version, b: Version): number =>
  a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Refuses a node over 2^30 − 1 the way the API's error list names it. */
export const checkVersionBounds = (text: string): void => {
  for (const node of text.split(".")) {
    if (node !== "x" && Number(node) > MAX_VERSION_NODE)
      throw awsError(
        "InvalidVersionNumberException",
        `Version ${text} is out of bounds: each node must be at most ${MAX_VERSION_NODE}`,
      );
  }
};

/**
 * A version selection with wildcards (`x.x.x`, `1.x.x`, `1.2.x`, or a plain version): whether a
 * version matches it. A wildcard followed by a number is invalid (user guide: `x.2.x` and `1.x.8`
 * "produce an error").
 */
export const selectionMatcher = (selection: string): ((version: Version) => boolean) => {
  const nodes = selection.split(".");
  const firstWildcard = nodes.indexOf("x");
  if (
    nodes.length !== 3 ||
    (firstWildcard >= 0 && nodes.slice(firstWildcard).some((n) => n !== "x"))
  )
    throw awsError(
      "InvalidVersionNumberException",
      `Version ${selection} is not valid: all nodes to the right of the first wildcard must also be wildcards`,
    );
  return (version) => nodes.every((node, index) => node === "x" || Number(node) === version[index]);
};

/** The resource part of an Image Builder ARN: `component/<name>/<version>[/<build>]`. */
export interface ParsedArn {
  readonly region: string;
  readonly owner: string;
  readonly type: string;
  readonly name: string;
  readonly version?: string;
  readonly build?: number;
}

export const parseImageBuilderArn = (arn: string): ParsedArn | undefined => {
  const match =
    /^arn:aws[^:]*:imagebuilder:([^:]+):([^:]+):(component|image-recipe|image|image-pipeline|infrastructure-configuration|distribution-configuration)\/([a-z0-9-_]+)(?:\/([0-9x]+\.[0-9x]+\.[0-9x]+)(?:\/(\d+))?)?$/.exec(
      arn,
    );
  if (!match) return undefined;
  const [, region = "", owner = "", type = "", name = "", version, build] = match;
  return {
    region,
    owner,
    type,
    name,
    ...(version !== undefined ? { version } : {}),
    ...(build !== undefined ? { build: Number(build) } : {}),
  };
};

/**
 * `latestVersionReferences`: "ARNs with different wildcard variations of semantic versioning"
 * (API model, LatestVersionReferences): the latest version overall (`x.x.x`), and within the same
 * major (`1.x.x`), minor (`1.2.x`) and patch (`1.2.3`). Source: Image Builder user guide,
 * "Semantic versioning", Using version references.
 */
export const latestVersionReferences = (versionlessArn: string, version: Version) => ({
  latestVersionArn: `${versionlessArn}/x.x.x`,
  latestMajorVersionArn: `${versionlessArn}/${version[0]}.x.x`,
  latestMinorVersionArn: `${versionlessArn}/${version[0]}.${version[1]}.x`,
  latestPatchVersionArn: `${versionlessArn}/${formatVersion(version)}`,
});
