import { parse } from "yaml";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";
import {
  type ComponentBuild,
  type ImageBuilderResources,
  type ImageRecipeRecord,
  notFound,
  type Tags,
  tagsMember,
} from "./image-builder-resources.ts";
import {
  arnName,
  checkVersionBounds,
  compareVersions,
  formatVersion,
  latestVersionReferences,
  parseVersion,
  type Version,
} from "./image-builder-versions.ts";

/**
 * Components and image recipes, the versioned Image Builder resources: immutable versions,
 * automatic build numbers and recipe version wildcards ("auto-versioning", Nov 2025).
 *
 * Sources:
 * - API model (botocore imagebuilder 2019-12-02): CreateComponent's semanticVersion is a
 *   VersionNumber (`^[0-9]+\.[0-9]+\.[0-9]+$`, no wildcard); CreateImageRecipe's is a
 *   WildcardVersionNumber; `latestVersionReferences` in the answers; inline `data` ≤ 16,000.
 * - What's new, 2025-11, "EC2 Image Builder now supports auto-versioning and enhances
 *   Infrastructure as Code experience", as AWS quotes it on GitHub
 *   (aws/ec2-image-builder-roadmap #71, #85, #110; aws-cloudformation/cloudformation-coverage-
 *   roadmap #2439): "For components, Image Builder automatically increments the build version when
 *   you create a component with the same name and semantic version"; "You can now include a
 *   single x in your recipe version which will automatically increment the version number".
 * - User guide, "Create a new version of an image recipe": "When you create a recipe with a
 *   wildcard version such as 1.0.x, Image Builder automatically increments the version (for
 *   example, 1.0.1, 1.0.2, 1.0.3, and so on)".
 * - Identical content refused: the reading of the user guide (create component); the
 *   CloudFormation resource provider turns CreateComponent's ResourceAlreadyExistsException into
 *   "Resource of type 'AWS::ImageBuilder::Component' with identifier 'ComponentArn' already
 *   exists" (aws-cloudformation-resource-providers-imagebuilder, component/CreateHandler.java).
 *   botocore lists no ResourceAlreadyExistsException for CreateComponent; the provider catches it.
 */

const MAX_COMPONENTS_PER_RECIPE = 20;

const base = (call: CallContext, type: string, name: string) =>
  `arn:aws:imagebuilder:${call.region}:${call.accountId}:${type}/${arnName(name)}`;

/**
 * "Image Builder determines the component type from the document. If the document contains a
 * single phase named test, the component type is TEST. Otherwise, the component type is BUILD."
 * (AWS CLI reference, imagebuilder create-component).
 */
const componentType = (data: string | undefined): "BUILD" | "TEST" => {
  if (data === undefined) return "BUILD";
  let document: { phases?: Array<{ name?: unknown }> } | undefined;
  try {
    document = parse(data) as typeof document;
  } catch (error) {
    throw awsError(
      "InvalidRequestException",
      `The component document is not valid YAML: ${(error as Error).message}`,
    );
  }
  const phases = Array.isArray(document?.phases) ? document.phases : [];
  return phases.length === 1 && phases[0]?.name === "test" ? "TEST" : "BUILD";
};

const paginate = <T>(items: T[], input: Record<string, unknown>) => {
  const size = Math.min(Number(input.maxResults ?? 25), 25);
  const start = input.nextToken ? Number(input.nextToken) : 0;
  return {
    page: items.slice(start, start + size),
    ...(start + size < items.length ? { nextToken: String(start + size) } : {}),
  };
};

const component = (build: ComponentBuild) => ({
  arn: build.arn,
  name: build.name,
  version: formatVersion(build.version),
  ...(build.description ? { description: build.description } : {}),
  ...(build.changeDescription ? { changeDescription: build.changeDescription } : {}),
  type: build.type,
  platform: build.platform,
  ...(build.supportedOsVersions ? { supportedOsVersions: [...build.supportedOsVersions] } : {}),
  state: { status: "ACTIVE" },
  owner: build.accountId,
  ...(build.data !== undefined ? { data: build.data } : {}),
  ...(build.kmsKeyId ? { kmsKeyId: build.kmsKeyId } : {}),
  encrypted: true,
  dateCreated: new Date(build.createdAt).toISOString(),
  ...tagsMember(build.tags),
});

/** GetImageRecipe's ImageRecipe, also what GetImage shows as the image's recipe. */
export const imageRecipe = (recipe: ImageRecipeRecord, platform = "Linux") => ({
  arn: recipe.arn,
  type: "AMI",
  name: recipe.name,
  ...(recipe.description ? { description: recipe.description } : {}),
  platform,
  owner: recipe.accountId,
  version: formatVersion(recipe.version),
  components: structuredClone(recipe.components),
  parentImage: recipe.parentImage,
  ...(recipe.blockDeviceMappings
    ? { blockDeviceMappings: structuredClone(recipe.blockDeviceMappings) }
    : {}),
  dateCreated: new Date(recipe.createdAt).toISOString(),
  ...tagsMember(recipe.tags),
  ...(recipe.workingDirectory ? { workingDirectory: recipe.workingDirectory } : {}),
  ...(recipe.additionalInstanceConfiguration
    ? { additionalInstanceConfiguration: structuredClone(recipe.additionalInstanceConfiguration) }
    : {}),
  ...(recipe.amiTags ? { amiTags: { ...recipe.amiTags } } : {}),
});

/**
 * The version a recipe gets: the given one, or for `<major>.<minor>.x` the next patch of that
 * minor version (the first one `<major>.<minor>.0`: the guide's example starts at an existing
 * version). Only the patch may be a wildcard: "include a single x in your recipe version".
 */
const recipeVersion = (requested: string, existing: Version[]): Version => {
  checkVersionBounds(requested);
  const exact = parseVersion(requested);
  if (exact) return exact;
  const wildcard = /^(\d+)\.(\d+)\.x$/.exec(requested);
  if (!wildcard)
    throw awsError(
      "InvalidVersionNumberException",
      `Version ${requested} is not valid: only the patch node may be the wildcard x (for example 1.0.x)`,
    );
  const [major, minor] = [Number(wildcard[1]), Number(wildcard[2])];
  const patches = existing.filter((v) => v[0] === major && v[1] === minor).map((v) => v[2]);
  return [major, minor, patches.length > 0 ? Math.max(...patches) + 1 : 0];
};

export const componentOperations = (resources: ImageBuilderResources) => ({
  CreateComponent: (call: CallContext) =>
    resources.idempotent(call, () => {
      const input = call.input as Record<string, string | undefined> & { tags?: Tags };
      const name = String(input.name);
      const version = parseVersion(String(input.semanticVersion)) as Version;
      checkVersionBounds(String(input.semanticVersion));
      // "exactly one of the following methods": inline data or an S3 uri (API model).
      if (input.data !== undefined && input.uri !== undefined)
        throw awsError(
          "InvalidParameterCombinationException",
          "You cannot specify both data and uri for a component",
        );
      if (input.data === undefined && input.uri === undefined)
        throw awsError("InvalidRequestException", "Specify the component document in data or uri");
      const type = componentType(input.data);
      const versionless = base(call, "component", name);
      const builds = resources
        .buildsOf(call, versionless)
        .filter((build) => compareVersions(build.version, version) === 0);
      // A document behind an S3 uri is known here by its uri alone (the sandbox has no S3).
      const same = builds.find((build) => build.data === input.data && build.uri === input.uri);
      if (same)
        throw awsError(
          "ResourceAlreadyExistsException",
          `The component ${same.arn} already exists with identical content`,
        );
      if (input.dryRun)
        throw awsError("DryRunOperationException", "The dry run operation succeeded", 412);
      const buildVersion = Math.max(0, ...builds.map((build) => build.buildVersion)) + 1;
      const arn = `${versionless}/${formatVersion(version)}/${buildVersion}`;
      resources.components.set(arn, {
        arn,
        accountId: call.accountId,
        region: call.region,
        name,
        version,
        buildVersion,
        platform: String(input.platform),
        type,
        ...(input.description ? { description: input.description } : {}),
        ...(input.changeDescription ? { changeDescription: input.changeDescription } : {}),
        ...(call.input.supportedOsVersions
          ? { supportedOsVersions: [...(call.input.supportedOsVersions as string[])] }
          : {}),
        ...(input.data !== undefined ? { data: input.data } : {}),
        ...(input.uri !== undefined ? { uri: input.uri } : {}),
        ...(input.kmsKeyId ? { kmsKeyId: input.kmsKeyId } : {}),
        createdAt: resources.clock.now(),
        tags: { ...input.tags },
      });
      return {
        requestId: "sandbox",
        clientToken: String(input.clientToken ?? "sandbox"),
        componentBuildVersionArn: arn,
        latestVersionReferences: latestVersionReferences(versionless, version),
      };
    }),

  GetComponent: (call: CallContext) => {
    const arn = String(call.input.componentBuildVersionArn);
    const build = resources.resolveComponent(call, arn);
    if (!build) throw notFound(arn);
    return {
      requestId: "sandbox",
      component: component(build),
      latestVersionReferences: latestVersionReferences(
        build.arn.split("/").slice(0, 2).join("/"),
        build.version,
      ),
    };
  },

  /**
   * The account's component versions (API: ComponentVersion, a version ARN without build), newest
   * first; `filters` by name, platform or type; `byName` keeps the latest version of each name.
   */
  ListComponents: (call: CallContext) => {
    const owner = call.input.owner ?? "Self";
    const filters = (call.input.filters ?? []) as Array<{ name: string; values: string[] }>;
    const versions = new Map<string, ComponentBuild>();
    const builds =
      owner === "Self"
        ? [...resources.components.values()].filter(
            (build) => build.accountId === call.accountId && build.region === call.region,
          )
        : [];
    for (const build of builds) {
      if (!filters.every((filter) => filter.values.includes(String(build[filter.name as "name"]))))
        continue;
      const versionArn = build.arn.split("/").slice(0, 3).join("/");
      const known = versions.get(versionArn);
      if (!known || known.buildVersion < build.buildVersion) versions.set(versionArn, build);
    }
    let list = [...versions.entries()].sort(([, a], [, b]) =>
      a.name === b.name ? compareVersions(b.version, a.version) : a.name.localeCompare(b.name),
    );
    if (call.input.byName)
      list = list.filter(([, b], i) => i === 0 || list[i - 1]?.[1].name !== b.name);
    const { page, ...next } = paginate(list, call.input);
    return {
      requestId: "sandbox",
      componentVersionList: page.map(([arn, build]) => ({
        arn,
        name: build.name,
        version: formatVersion(build.version),
        ...(build.description ? { description: build.description } : {}),
        platform: build.platform,
        type: build.type,
        owner: build.accountId,
        dateCreated: new Date(build.createdAt).toISOString(),
        status: "ACTIVE",
      })),
      ...next,
    };
  },

  ListComponentBuildVersions: (call: CallContext) => {
    const versionArn = String(call.input.componentVersionArn);
    const builds = [...resources.components.values()]
      .filter(
        (build) =>
          build.accountId === call.accountId &&
          build.region === call.region &&
          build.arn.startsWith(`${versionArn}/`),
      )
      .sort((a, b) => b.buildVersion - a.buildVersion);
    const { page, ...next } = paginate(builds, call.input);
    return {
      requestId: "sandbox",
      componentSummaryList: page.map((build) => {
        const { data: _data, kmsKeyId: _key, encrypted: _encrypted, ...summary } = component(build);
        return summary;
      }),
      ...next,
    };
  },

  /**
   * Deletes one build. A recipe that names that build keeps it: ResourceDependencyException,
   * "You have attempted to mutate or delete a resource with a dependency that prohibits this
   * action" (API model).
   */
  DeleteComponent: (call: CallContext) => {
    const arn = String(call.input.componentBuildVersionArn);
    const build = resources.components.get(arn);
    if (!build || build.accountId !== call.accountId || build.region !== call.region)
      throw notFound(arn);
    const user = [...resources.recipes.values()].find((recipe) =>
      recipe.components.some((entry) => entry.componentArn === arn),
    );
    if (user)
      throw awsError(
        "ResourceDependencyException",
        `The component ${arn} is used by the image recipe ${user.arn}`,
      );
    resources.components.delete(arn);
    return { requestId: "sandbox", componentBuildVersionArn: arn };
  },

  CreateImageRecipe: (call: CallContext) =>
    resources.idempotent(call, () => {
      const input = call.input;
      const name = String(input.name);
      const versionless = base(call, "image-recipe", name);
      const existing = [...resources.recipes.values()]
        .filter(
          (recipe) =>
            recipe.accountId === call.accountId &&
            recipe.region === call.region &&
            recipe.arn.startsWith(`${versionless}/`),
        )
        .map((recipe) => recipe.version);
      const version = recipeVersion(String(input.semanticVersion), existing);
      const arn = `${versionless}/${formatVersion(version)}`;
      if (resources.recipes.has(arn))
        throw awsError(
          "ResourceAlreadyExistsException",
          `The image recipe ${arn} already exists: recipe versions are immutable`,
        );
      const components = (input.components ?? []) as Array<{ componentArn: string }>;
      // "Recipes require a minimum of one build component, and can have a maximum of 20 build and
      // test components in any combination" (API reference, ImageRecipe.components).
      if (components.length > MAX_COMPONENTS_PER_RECIPE)
        throw awsError(
          "InvalidRequestException",
          `An image recipe can have at most ${MAX_COMPONENTS_PER_RECIPE} components; ${components.length} given`,
        );
      for (const { componentArn } of components) {
        const ownedHere = componentArn.split(":")[4] === call.accountId;
        if (ownedHere && !resources.resolveComponent(call, componentArn))
          throw awsError(
            "InvalidRequestException",
            `The component ${componentArn} does not exist in ${call.accountId}/${call.region}`,
          );
      }
      const optional = (key: string) =>
        input[key] !== undefined ? { [key]: structuredClone(input[key]) } : {};
      resources.recipes.set(arn, {
        arn,
        accountId: call.accountId,
        region: call.region,
        name,
        version,
        components: structuredClone(components),
        parentImage: String(input.parentImage),
        ...optional("description"),
        ...optional("blockDeviceMappings"),
        ...optional("workingDirectory"),
        ...optional("additionalInstanceConfiguration"),
        ...optional("amiTags"),
        createdAt: resources.clock.now(),
        tags: { ...(input.tags as Tags | undefined) },
      } as ImageRecipeRecord);
      return {
        requestId: "sandbox",
        clientToken: String(input.clientToken ?? "sandbox"),
        imageRecipeArn: arn,
        latestVersionReferences: latestVersionReferences(versionless, version),
      };
    }),

  GetImageRecipe: (call: CallContext) => {
    const arn = String(call.input.imageRecipeArn);
    const recipe = resources.resolveRecipe(call, arn);
    if (!recipe) throw notFound(arn);
    return {
      requestId: "sandbox",
      imageRecipe: imageRecipe(recipe),
      latestVersionReferences: latestVersionReferences(
        recipe.arn.split("/").slice(0, 2).join("/"),
        recipe.version,
      ),
    };
  },

  /** A recipe a pipeline uses stays: ResourceDependencyException (API model). */
  DeleteImageRecipe: (call: CallContext) => {
    const arn = String(call.input.imageRecipeArn);
    const recipe = resources.recipes.get(arn);
    if (!recipe || recipe.accountId !== call.accountId || recipe.region !== call.region)
      throw notFound(arn);
    const user = [...resources.pipelines.values()].find(
      (pipeline) => pipeline.fields.imageRecipeArn === arn,
    );
    if (user)
      throw awsError(
        "ResourceDependencyException",
        `The image recipe ${arn} is used by the image pipeline ${user.arn}`,
      );
    resources.recipes.delete(arn);
    return { requestId: "sandbox", imageRecipeArn: arn };
  },
});
