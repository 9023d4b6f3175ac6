import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";
import type { Distribution, SandboxPipeline } from "./image-builder.ts";
import { imageRecipe } from "./image-builder-components.ts";
import {
  type ConfigurationRecord,
  type ImageBuilderResources,
  notFound,
  type Tags,
  tagsMember,
} from "./image-builder-resources.ts";
import { arnName, formatVersion, parseImageBuilderArn } from "./image-builder-versions.ts";

/**
 * Infrastructure and distribution configurations and image pipelines, created, updated and deleted
 * through the API (botocore imagebuilder 2019-12-02). A pipeline created here is an
 * ImageBuilderModel pipeline (image-builder.ts): its recipe decides the images' name and version,
 * its distribution configuration where the AMIs go, so it builds and rolls out like any other.
 *
 * Updates replace every field: "UpdateImagePipeline does not support selective updates for the
 * pipeline. You must specify all of the required properties in the update request, not just the
 * properties that have changed" (API model, UpdateImagePipeline); the configurations' Update
 * operations take the same full shapes.
 */

type ConfigurationKind = "infrastructure-configuration" | "distribution-configuration";

/** Request members that are not the resource's fields. */
const NOT_FIELDS = new Set([
  "clientToken",
  "tags",
  "name",
  "infrastructureConfigurationArn",
  "distributionConfigurationArn",
  "imagePipelineArn",
]);

const fieldsOf = (input: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(structuredClone(input)).filter(
      ([key, value]) => !NOT_FIELDS.has(key) && value !== undefined,
    ),
  );

/** The sandbox's Distribution (image-builder.ts) from an API distribution. */
const distributionsOf = (record: ConfigurationRecord | undefined): Distribution[] =>
  ((record?.fields.distributions ?? []) as Array<Record<string, unknown>>).map((distribution) => {
    const ami = (distribution.amiDistributionConfiguration ?? {}) as {
      targetAccountIds?: string[];
      launchPermission?: Distribution["launchPermission"];
    };
    return {
      region: String(distribution.region),
      accountIds: [...(ami.targetAccountIds ?? [])],
      ...(ami.launchPermission ? { launchPermission: structuredClone(ami.launchPermission) } : {}),
    };
  });

export const pipelineOperations = (resources: ImageBuilderResources) => {
  const { imageBuilder } = resources;
  const store = (kind: ConfigurationKind) =>
    kind === "infrastructure-configuration"
      ? resources.infrastructureConfigurations
      : resources.distributionConfigurations;

  const configuration = (call: CallContext, kind: ConfigurationKind, arn: unknown) => {
    const record = store(kind).get(String(arn));
    if (!record || record.accountId !== call.accountId || record.region !== call.region)
      throw notFound(String(arn));
    return record;
  };

  /** A referenced resource that does not exist: the request is refused (InvalidRequestException). */
  const mustExist = (call: CallContext, what: string, arn: unknown, exists: boolean) => {
    if (!exists)
      throw awsError(
        "InvalidRequestException",
        `The ${what} ${String(arn)} does not exist in ${call.accountId}/${call.region}`,
      );
  };

  const checkReferences = (call: CallContext) => {
    const { imageRecipeArn, infrastructureConfigurationArn, distributionConfigurationArn } =
      call.input;
    if (call.input.containerRecipeArn !== undefined)
      throw awsError("SandboxNotModelled", "the sandbox models AMI pipelines only", 501);
    mustExist(
      call,
      "image recipe",
      imageRecipeArn,
      typeof imageRecipeArn === "string" && !!resources.resolveRecipe(call, imageRecipeArn),
    );
    mustExist(
      call,
      "infrastructure configuration",
      infrastructureConfigurationArn,
      resources.infrastructureConfigurations.has(String(infrastructureConfigurationArn)),
    );
    if (distributionConfigurationArn !== undefined)
      mustExist(
        call,
        "distribution configuration",
        distributionConfigurationArn,
        resources.distributionConfigurations.has(String(distributionConfigurationArn)),
      );
  };

  /** Points the ImageBuilderModel pipeline at its recipe and distribution configuration. */
  const sync = (pipeline: SandboxPipeline) => {
    const record = resources.pipelines.get(pipeline.arn);
    if (!record) return;
    const recipe = resources.resolveRecipe(pipeline, String(record.fields.imageRecipeArn));
    if (recipe) {
      pipeline.recipeName = arnName(recipe.name);
      pipeline.recipeVersion = formatVersion(recipe.version);
    }
    const distribution = resources.distributionConfigurations.get(
      String(record.fields.distributionConfigurationArn),
    );
    pipeline.distributions = distributionsOf(distribution);
    if (distribution)
      pipeline.distributionConfiguration = { arn: distribution.arn, name: distribution.name };
    else delete pipeline.distributionConfiguration;
    pipeline.status = record.fields.status === "DISABLED" ? "DISABLED" : "ENABLED";
    const imageTags = record.fields.imageTags as Tags | undefined;
    if (imageTags) pipeline.imageTags = { ...imageTags };
    else delete pipeline.imageTags;
  };
  const syncAll = () => {
    for (const pipeline of imageBuilder.pipelines.values()) sync(pipeline);
  };

  // A build resolves the recipe when it starts: a wildcard recipe ARN builds the latest version.
  imageBuilder.buildInputs = (pipeline) => {
    const record = resources.pipelines.get(pipeline.arn);
    if (!record?.fields.imageRecipeArn) return undefined;
    sync(pipeline);
    const recipe = resources.resolveRecipe(pipeline, String(record.fields.imageRecipeArn));
    if (!recipe) return undefined;
    return {
      recipeName: arnName(recipe.name),
      recipeVersion: formatVersion(recipe.version),
      imageName: recipe.name,
      imageRecipe: imageRecipe(recipe),
    };
  };

  const createConfiguration = (kind: ConfigurationKind) => (call: CallContext) =>
    resources.idempotent(call, () => {
      const name = String(call.input.name);
      const arn = `arn:aws:imagebuilder:${call.region}:${call.accountId}:${kind}/${arnName(name)}`;
      if (store(kind).has(arn))
        throw awsError("ResourceAlreadyExistsException", `The ${kind} ${arn} already exists`);
      store(kind).set(arn, {
        arn,
        accountId: call.accountId,
        region: call.region,
        name,
        fields: fieldsOf(call.input),
        createdAt: resources.clock.now(),
        tags: { ...(call.input.tags as Tags | undefined) },
      });
      const key =
        kind === "infrastructure-configuration"
          ? "infrastructureConfigurationArn"
          : "distributionConfigurationArn";
      return { requestId: "sandbox", clientToken: String(call.input.clientToken), [key]: arn };
    });

  const updateConfiguration =
    (
      kind: ConfigurationKind,
      key: "infrastructureConfigurationArn" | "distributionConfigurationArn",
    ) =>
    (call: CallContext) =>
      resources.idempotent(call, () => {
        const record = configuration(call, kind, call.input[key]);
        record.fields = fieldsOf(call.input);
        record.updatedAt = resources.clock.now();
        syncAll();
        return {
          requestId: "sandbox",
          clientToken: String(call.input.clientToken),
          [key]: record.arn,
        };
      });

  const describeConfiguration = (record: ConfigurationRecord) => ({
    arn: record.arn,
    name: record.name,
    ...structuredClone(record.fields),
    dateCreated: new Date(record.createdAt).toISOString(),
    ...(record.updatedAt ? { dateUpdated: new Date(record.updatedAt).toISOString() } : {}),
    ...tagsMember(record.tags),
  });

  const deleteConfiguration =
    (
      kind: ConfigurationKind,
      key: "infrastructureConfigurationArn" | "distributionConfigurationArn",
    ) =>
    (call: CallContext) => {
      const record = configuration(call, kind, call.input[key]);
      const user = [...resources.pipelines.values()].find(
        (pipeline) => pipeline.fields[key] === record.arn,
      );
      if (user)
        throw awsError(
          "ResourceDependencyException",
          `The ${kind} ${record.arn} is used by the image pipeline ${user.arn}`,
        );
      store(kind).delete(record.arn);
      return { requestId: "sandbox", [key]: record.arn };
    };

  const managedPipeline = (call: CallContext) => {
    const arn = String(call.input.imagePipelineArn);
    const pipeline = imageBuilder.pipelines.get(arn);
    const record = resources.pipelines.get(arn);
    if (!pipeline || !record?.fields.infrastructureConfigurationArn) return undefined;
    if (pipeline.accountId !== call.accountId || pipeline.region !== call.region) return undefined;
    return { pipeline, record };
  };

  return {
    CreateInfrastructureConfiguration: createConfiguration("infrastructure-configuration"),
    UpdateInfrastructureConfiguration: updateConfiguration(
      "infrastructure-configuration",
      "infrastructureConfigurationArn",
    ),
    GetInfrastructureConfiguration: (call: CallContext) => ({
      requestId: "sandbox",
      infrastructureConfiguration: describeConfiguration(
        configuration(
          call,
          "infrastructure-configuration",
          call.input.infrastructureConfigurationArn,
        ),
      ),
    }),
    DeleteInfrastructureConfiguration: deleteConfiguration(
      "infrastructure-configuration",
      "infrastructureConfigurationArn",
    ),

    CreateDistributionConfiguration: createConfiguration("distribution-configuration"),
    UpdateDistributionConfiguration: updateConfiguration(
      "distribution-configuration",
      "distributionConfigurationArn",
    ),
    GetDistributionConfiguration: (call: CallContext) => ({
      requestId: "sandbox",
      // DistributionConfiguration.timeoutMinutes is required in the model; 720 is its maximum
      // and what the sandbox's images report (image-builder.ts).
      distributionConfiguration: {
        timeoutMinutes: 720,
        ...describeConfiguration(
          configuration(
            call,
            "distribution-configuration",
            call.input.distributionConfigurationArn,
          ),
        ),
      },
    }),
    DeleteDistributionConfiguration: deleteConfiguration(
      "distribution-configuration",
      "distributionConfigurationArn",
    ),

    CreateImagePipeline: (call: CallContext) =>
      resources.idempotent(call, () => {
        const name = String(call.input.name);
        const arn = `arn:aws:imagebuilder:${call.region}:${call.accountId}:image-pipeline/${arnName(name)}`;
        if (imageBuilder.pipelines.has(arn))
          throw awsError(
            "ResourceAlreadyExistsException",
            `The image pipeline ${arn} already exists`,
          );
        checkReferences(call);
        resources.pipelines.set(arn, {
          arn,
          fields: {
            ...fieldsOf(call.input),
            infrastructureConfigurationArn: call.input.infrastructureConfigurationArn,
            ...(call.input.distributionConfigurationArn !== undefined
              ? { distributionConfigurationArn: call.input.distributionConfigurationArn }
              : {}),
          },
          createdAt: resources.clock.now(),
          tags: { ...(call.input.tags as Tags | undefined) },
        });
        const pipeline = imageBuilder.addPipeline({
          arn,
          name,
          accountId: call.accountId,
          region: call.region,
          recipeName: "",
          recipeVersion: "",
          distributions: [],
        });
        sync(pipeline);
        return {
          requestId: "sandbox",
          clientToken: String(call.input.clientToken),
          imagePipelineArn: arn,
        };
      }),

    UpdateImagePipeline: (call: CallContext) =>
      resources.idempotent(call, () => {
        const found = managedPipeline(call);
        if (!found) throw notFound(String(call.input.imagePipelineArn));
        checkReferences(call);
        found.record.fields = {
          ...fieldsOf(call.input),
          infrastructureConfigurationArn: call.input.infrastructureConfigurationArn,
          ...(call.input.distributionConfigurationArn !== undefined
            ? { distributionConfigurationArn: call.input.distributionConfigurationArn }
            : {}),
        };
        found.record.updatedAt = resources.clock.now();
        sync(found.pipeline);
        return {
          requestId: "sandbox",
          clientToken: String(call.input.clientToken),
          imagePipelineArn: found.pipeline.arn,
        };
      }),

    /** Pipelines created through the API answer in full; others as ImageBuilderModel knows them. */
    GetImagePipeline: (call: CallContext) => {
      const found = managedPipeline(call);
      if (!found) return imageBuilder.operations.GetImagePipeline(call);
      const { pipeline, record } = found;
      const last = imageBuilder.imagesOf(pipeline.arn).sort((a, b) => b.createdAt - a.createdAt)[0];
      return {
        requestId: "sandbox",
        imagePipeline: {
          arn: pipeline.arn,
          name: pipeline.name,
          platform: "Linux",
          ...structuredClone(record.fields),
          status: pipeline.status,
          dateCreated: new Date(record.createdAt).toISOString(),
          ...(record.updatedAt ? { dateUpdated: new Date(record.updatedAt).toISOString() } : {}),
          ...(last
            ? {
                dateLastRun: new Date(last.createdAt).toISOString(),
                lastRunStatus: last.status,
              }
            : {}),
          ...tagsMember(record.tags),
        },
      };
    },

    /** The pipeline goes; the images it built stay (they are resources of their own). */
    DeleteImagePipeline: (call: CallContext) => {
      const arn = String(call.input.imagePipelineArn);
      const pipeline = imageBuilder.pipelines.get(arn);
      const owner = parseImageBuilderArn(arn);
      if (!pipeline || owner?.owner !== call.accountId || owner.region !== call.region)
        throw notFound(arn);
      imageBuilder.pipelines.delete(arn);
      resources.pipelines.delete(arn);
      return { requestId: "sandbox", imagePipelineArn: arn };
    },
  };
};
