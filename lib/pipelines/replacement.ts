import rules from "./replacement-rules.json" with { type: "json" };

/**
 * Which property changes make CloudFormation replace (create anew) an image resource rather
 * than update it in place: the resource schemas' `createOnlyProperties`, generated into
 * replacement-rules.json by scripts/generate-replacement-rules.ts (cfn-lint's bundled schemas).
 */

export const RESOURCE_TYPES = [
  "AWS::ImageBuilder::Component",
  "AWS::ImageBuilder::ImageRecipe",
  "AWS::ImageBuilder::InfrastructureConfiguration",
  "AWS::ImageBuilder::DistributionConfiguration",
  "AWS::ImageBuilder::ImagePipeline",
] as const;

export type ImageResourceType = (typeof RESOURCE_TYPES)[number];

const replaceOn = rules.replaceOn as Record<string, readonly string[] | undefined>;

/** The properties a change of which replaces a resource of this type. */
export const replacementProperties = (type: ImageResourceType): readonly string[] =>
  replaceOn[type] ?? [];

/** The subset of `properties` that a change of would replace a resource of this type. */
export const forcesReplacement = (
  type: ImageResourceType,
  properties: Iterable<string>,
): string[] => {
  const createOnly = new Set(replacementProperties(type));
  return [...properties].filter((property) => createOnly.has(property));
};
