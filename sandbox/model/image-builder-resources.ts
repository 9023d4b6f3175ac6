import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";
import type { ImageBuilderModel } from "./image-builder.ts";
import {
  compareVersions,
  parseImageBuilderArn,
  parseVersion,
  selectionMatcher,
  type Version,
} from "./image-builder-versions.ts";

/**
 * The Image Builder resources an image is made from, per account and region: component builds,
 * image recipes, infrastructure and distribution configurations, and which pipelines were created
 * through the API. Their operations live in image-builder-components.ts and
 * image-builder-pipelines.ts; pipelines themselves stay in ImageBuilderModel (image-builder.ts),
 * which builds the images, so a pipeline created here builds and distributes like any other.
 */

export type Tags = Record<string, string>;

/** One build of a component version: immutable once created (API: there is no UpdateComponent). */
export interface ComponentBuild {
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly version: Version;
  readonly buildVersion: number;
  readonly platform: string;
  readonly type: "BUILD" | "TEST";
  readonly description?: string;
  readonly changeDescription?: string;
  readonly supportedOsVersions?: readonly string[];
  readonly data?: string;
  readonly uri?: string;
  readonly kmsKeyId?: string;
  readonly createdAt: number;
  tags: Tags;
}

/** An image recipe version: immutable (API: there is no UpdateImageRecipe). */
export interface ImageRecipeRecord {
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly version: Version;
  readonly components: ReadonlyArray<{ componentArn: string; parameters?: unknown }>;
  readonly parentImage: string;
  readonly description?: string;
  readonly blockDeviceMappings?: unknown;
  readonly workingDirectory?: string;
  readonly additionalInstanceConfiguration?: unknown;
  readonly amiTags?: Tags;
  readonly createdAt: number;
  tags: Tags;
}

/** An infrastructure or distribution configuration: its API fields, as last created or updated. */
export interface ConfigurationRecord {
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  fields: Record<string, unknown>;
  readonly createdAt: number;
  updatedAt?: number;
  tags: Tags;
}

/** What CreateImagePipeline/UpdateImagePipeline set, beyond what ImageBuilderModel builds with. */
export interface PipelineRecord {
  readonly arn: string;
  fields: Record<string, unknown>;
  readonly createdAt: number;
  updatedAt?: number;
  tags: Tags;
}

/** JSON with sorted keys: two requests are the same request whatever their key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : item,
  );

/** A TagMap has at least one entry in the API model: an empty one is left out of answers. */
export const tagsMember = (tags: Tags | undefined) =>
  tags && Object.keys(tags).length > 0 ? { tags: { ...tags } } : {};

export const notFound = (arn: string) =>
  awsError("ResourceNotFoundException", `The resource ${arn} does not exist`, 404);

export class ImageBuilderResources {
  readonly components = new Map<string, ComponentBuild>();
  readonly recipes = new Map<string, ImageRecipeRecord>();
  readonly infrastructureConfigurations = new Map<string, ConfigurationRecord>();
  readonly distributionConfigurations = new Map<string, ConfigurationRecord>();
  readonly pipelines = new Map<string, PipelineRecord>();
  readonly #tokens = new Map<string, { request: string; output: unknown }>();

  constructor(
    readonly clock: SimClock,
    readonly imageBuilder: ImageBuilderModel,
  ) {}

  now(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /**
   * A create or update with a client token: "If you repeat a request with the same client token
   * and the same parameters, the request succeeds but has no effect" and returns the original
   * answer; the same token with different parameters fails with
   * IdempotentParameterMismatchException. Sources: the API model's clientToken ("ensure
   * idempotency of the request", pointing at the EC2 API reference, "Ensuring idempotency") and
   * the error's documentation. Without a token the SDK generates a fresh one (the member is an
   * idempotencyToken in the model), so every such call is a new request.
   */
  idempotent<T>(call: CallContext, perform: () => T): T {
    const token = call.input.clientToken;
    if (typeof token !== "string") return perform();
    const { clientToken: _token, ...request } = call.input;
    const key = `${call.accountId}|${call.region}|${call.operation}|${token}`;
    const previous = this.#tokens.get(key);
    if (previous) {
      if (previous.request !== canonicalJson(request))
        throw awsError(
          "IdempotentParameterMismatchException",
          `The client token ${token} was already used with different parameters`,
        );
      return structuredClone(previous.output) as T;
    }
    const output = perform();
    this.#tokens.set(key, { request: canonicalJson(request), output: structuredClone(output) });
    return output;
  }

  /** The component builds of one account and region whose versionless ARN is `versionless`. */
  buildsOf(call: Pick<CallContext, "accountId" | "region">, versionless: string): ComponentBuild[] {
    return [...this.components.values()].filter(
      (build) =>
        build.accountId === call.accountId &&
        build.region === call.region &&
        build.arn.startsWith(`${versionless}/`),
    );
  }

  /**
   * The component build an ARN names: a build version ARN names itself; a version ARN or a
   * wildcard selection the latest matching build ("use wildcards (x) to specify the most recent
   * versions", user guide, semantic versioning). Undefined for components Amazon or others own.
   */
  resolveComponent(call: Pick<CallContext, "accountId" | "region">, arn: string) {
    const parsed = parseImageBuilderArn(arn);
    if (parsed?.type !== "component" || parsed.owner !== call.accountId) return undefined;
    if (parsed.build !== undefined) {
      const build = this.components.get(arn);
      return build?.region === call.region ? build : undefined;
    }
    const matches = selectionMatcher(parsed.version ?? "x.x.x");
    const versionless = arn.split("/").slice(0, 2).join("/");
    return this.buildsOf(call, versionless)
      .filter((build) => matches(build.version))
      .sort((a, b) => compareVersions(b.version, a.version) || b.buildVersion - a.buildVersion)[0];
  }

  /** The recipe an ARN names, its version resolved the same way. */
  resolveRecipe(call: Pick<CallContext, "accountId" | "region">, arn: string) {
    const parsed = parseImageBuilderArn(arn);
    if (parsed?.type !== "image-recipe") return undefined;
    const exact = parsed.version ? parseVersion(parsed.version) : undefined;
    if (exact) {
      const recipe = this.recipes.get(arn);
      return recipe?.accountId === call.accountId && recipe?.region === call.region
        ? recipe
        : undefined;
    }
    const matches = selectionMatcher(parsed.version ?? "x.x.x");
    const versionless = arn.split("/").slice(0, 2).join("/");
    return [...this.recipes.values()]
      .filter(
        (recipe) =>
          recipe.accountId === call.accountId &&
          recipe.region === call.region &&
          recipe.arn.startsWith(`${versionless}/`) &&
          matches(recipe.version),
      )
      .sort((a, b) => compareVersions(b.version, a.version))[0];
  }

  /** The tags of any resource this model or ImageBuilderModel holds, for tagging operations. */
  tagsOf(call: Pick<CallContext, "accountId" | "region">, arn: string): Tags {
    const image = this.imageBuilder.images.get(arn);
    const record =
      this.components.get(arn) ??
      this.recipes.get(arn) ??
      this.infrastructureConfigurations.get(arn) ??
      this.distributionConfigurations.get(arn);
    const owner = parseImageBuilderArn(arn);
    if (!owner || owner.owner !== call.accountId || owner.region !== call.region)
      throw notFound(arn);
    if (record) return record.tags;
    if (image) {
      image.tags ??= {};
      return image.tags;
    }
    if (this.imageBuilder.pipelines.has(arn)) {
      let pipeline = this.pipelines.get(arn);
      if (!pipeline) {
        // A pipeline the sandbox was given (world-from-config) rather than created: tags only.
        pipeline = { arn, fields: {}, createdAt: this.clock.now(), tags: {} };
        this.pipelines.set(arn, pipeline);
      }
      return pipeline.tags;
    }
    throw notFound(arn);
  }

  /** Tagging, shared by every resource type (API: TagResource, UntagResource, ListTagsForResource). */
  readonly tagOperations = {
    TagResource: (call: CallContext) => {
      Object.assign(this.tagsOf(call, String(call.input.resourceArn)), call.input.tags);
      return {};
    },
    UntagResource: (call: CallContext) => {
      const tags = this.tagsOf(call, String(call.input.resourceArn));
      for (const key of call.input.tagKeys as string[]) delete tags[key];
      return {};
    },
    ListTagsForResource: (call: CallContext) =>
      tagsMember(this.tagsOf(call, String(call.input.resourceArn))),
  };
}
