import type { ResourceSchema } from "./resource-types.ts";
import { toApiInput } from "./resource-types.ts";

/**
 * What CloudFormation's resource providers call for each AWS::ImageBuilder::* type: create, update
 * in place, delete, each through the modelled Image Builder API as the deploying principal, so
 * every call is IAM-checked and validated against the API model like the rest of the sandbox.
 * Source: aws-cloudformation-resource-providers-imagebuilder (CreateHandler, UpdateHandler,
 * DeleteHandler per type): the physical id is the ARN (schema primaryIdentifier `/properties/Arn`);
 * an in-place update calls the Update operation where the API has one, then TagResource and
 * UntagResource for the tag differences (image-pipeline/UpdateHandler.java); an image recipe's
 * UpdateHandler calls nothing (image-recipe/UpdateHandler.java: the API has no UpdateImageRecipe),
 * so its AmiTags and AdditionalInstanceConfiguration, which the schema lets change without
 * replacement, do not reach the recipe.
 */

export type ImageBuilderCall = (
  operation: string,
  input: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

export interface Provisioned {
  readonly physicalId: string;
  readonly attributes: Record<string, string>;
}

interface Provisioner {
  create(call: ImageBuilderCall, properties: Record<string, unknown>): Promise<Provisioned>;
  update(
    call: ImageBuilderCall,
    current: Provisioned,
    previous: Record<string, unknown>,
    properties: Record<string, unknown>,
  ): Promise<Provisioned>;
  delete(call: ImageBuilderCall, physicalId: string): Promise<void>;
}

type Tags = Record<string, string>;

/** A handler error as CloudFormation reports it in the resource's status reason. */
export class HandlerError extends Error {
  constructor(
    message: string,
    readonly handlerErrorCode: string,
  ) {
    super(message);
    this.name = "HandlerError";
  }
}

const HANDLER_CODES: Record<string, string> = {
  ResourceAlreadyExistsException: "AlreadyExists",
  ResourceNotFoundException: "NotFound",
  AccessDeniedException: "AccessDenied",
  ResourceDependencyException: "ResourceConflict",
  ResourceInUseException: "ResourceConflict",
  ServiceQuotaExceededException: "ServiceLimitExceeded",
  CallRateLimitExceededException: "Throttling",
  ThrottlingException: "Throttling",
};

/**
 * CloudFormation's wording of a failed handler: `Resource handler returned message: "..."
 * (Service: Imagebuilder, Status Code: 400, Request ID: ...)` with its HandlerErrorCode; the
 * component provider turns ResourceAlreadyExistsException into CfnAlreadyExistsException
 * ("Resource of type 'AWS::ImageBuilder::Component' with identifier 'ComponentArn' already
 * exists", component/CreateHandler.java; the message of aws/ec2-image-builder-roadmap #71).
 * The sandbox's own failures (SandboxNotModelled, SandboxResponseInvalid) are not AWS answers:
 * they propagate.
 */
export const handlerError = (type: string, error: unknown): Error => {
  const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
  if (!(failure instanceof Error) || failure.name.startsWith("Sandbox")) return failure as Error;
  const code = HANDLER_CODES[failure.name] ?? "InvalidRequest";
  if (type === "AWS::ImageBuilder::Component" && failure.name === "ResourceAlreadyExistsException")
    return new HandlerError(
      `Resource of type '${type}' with identifier 'ComponentArn' already exists.`,
      code,
    );
  return new HandlerError(
    `Resource handler returned message: "${failure.message}" (Service: Imagebuilder, Status Code: ${failure.$metadata?.httpStatusCode ?? 400}, Request ID: sandbox) (HandlerErrorCode: ${code})`,
    code,
  );
};

const scalarAttributes = (properties: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(properties).map(([name, value]) => [
      name,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );

/** TagResource/UntagResource for the difference between two Tags properties. */
const retag = async (call: ImageBuilderCall, arn: string, before: unknown, after: unknown) => {
  const old = (before ?? {}) as Tags;
  const next = (after ?? {}) as Tags;
  const removed = Object.keys(old).filter((key) => !(key in next));
  const changed = Object.fromEntries(
    Object.entries(next).filter(([key, value]) => old[key] !== value),
  );
  if (removed.length > 0) await call("UntagResource", { resourceArn: arn, tagKeys: removed });
  if (Object.keys(changed).length > 0)
    await call("TagResource", { resourceArn: arn, tags: changed });
};

const latest = (references: unknown): Record<string, string> => {
  const refs = (references ?? {}) as Record<string, string>;
  return {
    ...(refs.latestVersionArn ? { "LatestVersion.Arn": refs.latestVersionArn } : {}),
    ...(refs.latestMajorVersionArn ? { "LatestVersion.Major": refs.latestMajorVersionArn } : {}),
    ...(refs.latestMinorVersionArn ? { "LatestVersion.Minor": refs.latestMinorVersionArn } : {}),
    ...(refs.latestPatchVersionArn ? { "LatestVersion.Patch": refs.latestPatchVersionArn } : {}),
  };
};

const attributes = (
  arn: string,
  properties: Record<string, unknown>,
  extra: Record<string, string> = {},
) => ({
  ...scalarAttributes(properties),
  Ref: arn,
  Arn: arn,
  ...extra,
});

/** The request of a Create or Update operation: the properties in API form, with a token. */
const request = (
  schema: ResourceSchema,
  properties: Record<string, unknown>,
  token: string,
): Record<string, unknown> => {
  const input = toApiInput(schema, properties);
  if ("version" in input) {
    input.semanticVersion = input.version;
    delete input.version;
  }
  return { ...input, clientToken: token };
};

let tokens = 0;
/** A client token per handler call, as the providers send one (RequestUtil: clientToken). */
const token = () => {
  tokens += 1;
  return `cloudformation-sandbox-${tokens.toString(36)}`;
};

const versioned = (
  schema: ResourceSchema,
  create: { operation: string; arnKey: string },
  remove: { operation: string; arnKey: string },
  describe?: (call: ImageBuilderCall, arn: string) => Promise<Record<string, string>>,
): Provisioner => ({
  async create(call, properties) {
    const output = await call(create.operation, request(schema, properties, token()));
    const arn = String(output[create.arnKey]);
    const version = arn.split("/")[2] ?? "";
    return {
      physicalId: arn,
      attributes: attributes(arn, properties, {
        Version: version,
        ...latest(output.latestVersionReferences),
        ...(await describe?.(call, arn)),
      }),
    };
  },
  async update(call, current, previous, properties) {
    await retag(call, current.physicalId, previous.Tags, properties.Tags);
    return {
      physicalId: current.physicalId,
      attributes: {
        ...current.attributes,
        ...scalarAttributes(properties),
        Version: current.attributes.Version ?? "",
      },
    };
  },
  async delete(call, physicalId) {
    await call(remove.operation, { [remove.arnKey]: physicalId });
  },
});

const updatable = (
  schema: ResourceSchema,
  operations: { create: string; update: string; delete: string; arnKey: string },
): Provisioner => ({
  async create(call, properties) {
    const output = await call(operations.create, request(schema, properties, token()));
    const arn = String(output[operations.arnKey]);
    return { physicalId: arn, attributes: attributes(arn, properties) };
  },
  async update(call, current, previous, properties) {
    const { name: _name, tags: _tags, ...input } = request(schema, properties, token());
    await call(operations.update, { ...input, [operations.arnKey]: current.physicalId });
    await retag(call, current.physicalId, previous.Tags, properties.Tags);
    return {
      physicalId: current.physicalId,
      attributes: attributes(current.physicalId, properties),
    };
  },
  async delete(call, physicalId) {
    await call(operations.delete, { [operations.arnKey]: physicalId });
  },
});

export const provisionerFor = (type: string, schema: ResourceSchema): Provisioner => {
  switch (type) {
    case "AWS::ImageBuilder::Component":
      return versioned(
        schema,
        { operation: "CreateComponent", arnKey: "componentBuildVersionArn" },
        { operation: "DeleteComponent", arnKey: "componentBuildVersionArn" },
        async (call, arn) => {
          const { component } = (await call("GetComponent", { componentBuildVersionArn: arn })) as {
            component: { type?: string };
          };
          return { Type: String(component.type), Encrypted: "true" };
        },
      );
    case "AWS::ImageBuilder::ImageRecipe":
      return versioned(
        schema,
        { operation: "CreateImageRecipe", arnKey: "imageRecipeArn" },
        { operation: "DeleteImageRecipe", arnKey: "imageRecipeArn" },
      );
    case "AWS::ImageBuilder::InfrastructureConfiguration":
      return updatable(schema, {
        create: "CreateInfrastructureConfiguration",
        update: "UpdateInfrastructureConfiguration",
        delete: "DeleteInfrastructureConfiguration",
        arnKey: "infrastructureConfigurationArn",
      });
    case "AWS::ImageBuilder::DistributionConfiguration":
      return updatable(schema, {
        create: "CreateDistributionConfiguration",
        update: "UpdateDistributionConfiguration",
        delete: "DeleteDistributionConfiguration",
        arnKey: "distributionConfigurationArn",
      });
    case "AWS::ImageBuilder::ImagePipeline":
      return updatable(schema, {
        create: "CreateImagePipeline",
        update: "UpdateImagePipeline",
        delete: "DeleteImagePipeline",
        arnKey: "imagePipelineArn",
      });
    default:
      throw new Error(`no provisioner for ${type}`);
  }
};
