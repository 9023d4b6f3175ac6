/**
 * Image Builder's semantic versions (API model imagebuilder 2019-12-02 and the user guide's
 * "Semantic versioning in Image Builder"):
 * - a component is created at `<major>.<minor>.<patch>` (`VersionNumber`: ^[0-9]+\.[0-9]+\.[0-9]+$);
 *   Image Builder adds the build number (`/1`, `/2`...);
 * - a recipe's version may hold wildcards (`WildcardVersionNumber`), and "when you use a wildcard
 *   in any node, all nodes to the right of the first wildcard must also be wildcards"; created
 *   with `1.0.x`, Image Builder assigns the next patch itself (user guide, create-image-recipes);
 * - each assigned node is at most 2^30-1 (1073741823).
 */

export const MAX_VERSION_NODE = 2 ** 30 - 1;

const COMPONENT_VERSION = /^[0-9]+\.[0-9]+\.[0-9]+$/;
const WILDCARD_VERSION = /^(?:[0-9]+|x)\.(?:[0-9]+|x)\.(?:[0-9]+|x)$/;

const nodeProblem = (version: string): string | undefined => {
  const big = version.split(".").find((node) => node !== "x" && Number(node) > MAX_VERSION_NODE);
  return big === undefined
    ? undefined
    : `node ${big} of ${version} is above ${MAX_VERSION_NODE} (2^30-1), the largest Image Builder assigns`;
};

/** Why `version` cannot be a component's version, if it cannot. */
export const componentVersionProblem = (version: string): string | undefined => {
  if (!COMPONENT_VERSION.test(version)) {
    return `${JSON.stringify(version)} is not a component version: write <major>.<minor>.<patch>, e.g. 1.2.0 (Image Builder adds the build number)`;
  }
  return nodeProblem(version);
};

/**
 * Why `version` cannot be a managed recipe's version, if it cannot. Besides the API's rules, it
 * must end in a wildcard: recipes are retained for rollback, so a changed recipe can only be
 * created under a new version, which Image Builder assigns for `1.0.x`.
 */
export const recipeVersionProblem = (version: string): string | undefined => {
  if (!WILDCARD_VERSION.test(version)) {
    return `${JSON.stringify(version)} is not a recipe version: write <major>.<minor>.x, e.g. 1.0.x`;
  }
  const nodes = version.split(".");
  const firstWildcard = nodes.indexOf("x");
  if (firstWildcard >= 0 && nodes.slice(firstWildcard).some((node) => node !== "x")) {
    return `${version}: after an x every node must be x (e.g. 1.x.x, not 1.x.0)`;
  }
  if (firstWildcard < 0) {
    return `${version} names one version, which exists once: end it in x (e.g. ${nodes[0]}.${nodes[1]}.x) so Image Builder gives every changed recipe the next version, and earlier ones stay for rollback`;
  }
  return nodeProblem(version);
};
