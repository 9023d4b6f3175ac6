import type { PipelineDefinition } from "./definition-schema.ts";
import type { ArnComponent, LocalComponent, ManagedPipeline } from "./definitions.ts";
import { hashOf, sha256, shortHash } from "./hash.ts";
import { imageStackName, logicalIds, TAG } from "./names.ts";

/**
 * The image stack's CloudFormation template, generated from the definitions: per pipeline its
 * components, recipe, infrastructure and distribution configurations and the pipeline itself.
 * Never an `AWS::ImageBuilder::Image`: builds start outside the stack (build.ts), so a stack
 * update never waits hours on a build nor rolls a fresh AMI back.
 */

type Json = Record<string, unknown>;

/** A component document to upload before deploying, when the pipeline has a componentBucket. */
export interface Asset {
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
}

export interface SynthesizedPipeline {
  readonly name: string;
  readonly arn: string;
  /** Hash of everything that shapes the image: what `build --changed` compares. */
  readonly inputHash: string;
  readonly logicalIds: {
    readonly pipeline: string;
    readonly recipe: string;
    readonly infrastructure: string;
    readonly distribution: string;
    /** Component logical id → Image Builder component name. */
    readonly components: Readonly<Record<string, string>>;
  };
}

export interface Synthesized {
  readonly stackName: string;
  readonly template: Json;
  readonly assets: readonly Asset[];
  readonly pipelines: readonly SynthesizedPipeline[];
}

/** Deleting the stack resource keeps the Image Builder resource: earlier versions stay usable. */
const RETAIN = { DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" } as const;

const defined = <T extends Json>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;

const parametersOf = (component: LocalComponent | ArnComponent) =>
  component.parameters === undefined
    ? undefined
    : Object.entries(component.parameters).map(([Name, value]) => ({
        Name,
        Value: typeof value === "string" ? [value] : [...value],
      }));

const blockDeviceMappings = (recipe: PipelineDefinition["recipe"]) =>
  recipe.blockDeviceMappings?.map((mapping) =>
    defined({
      DeviceName: mapping.deviceName,
      VirtualName: mapping.virtualName,
      NoDevice: mapping.noDevice,
      Ebs:
        mapping.ebs &&
        defined({
          Encrypted: mapping.ebs.encrypted,
          DeleteOnTermination: mapping.ebs.deleteOnTermination,
          Iops: mapping.ebs.iops,
          KmsKeyId: mapping.ebs.kmsKeyId,
          SnapshotId: mapping.ebs.snapshotId,
          VolumeSize: mapping.ebs.volumeSize,
          VolumeType: mapping.ebs.volumeType,
          Throughput: mapping.ebs.throughput,
        }),
    }),
  );

const componentResource = (
  pipeline: ManagedPipeline,
  component: LocalComponent,
  assets: Asset[],
): Json => {
  const bucket = pipeline.definition.componentBucket;
  let source: Json = { Data: component.data };
  if (bucket) {
    // Content-addressed: CloudFormation sees a changed document as a changed Uri.
    const key = `${bucket.prefix ? `${bucket.prefix.replace(/\/+$/, "")}/` : ""}${sha256(component.data)}.yml`;
    assets.push({ bucket: bucket.name, key, body: component.data });
    source = { Uri: `s3://${bucket.name}/${key}` };
  }
  return {
    Type: "AWS::ImageBuilder::Component",
    ...RETAIN,
    Properties: defined({
      Name: component.name,
      Version: component.version,
      Platform: pipeline.definition.platform,
      Description: component.description,
      ChangeDescription: `input sha256:${shortHash(component.inputHash)}${component.commit ? `, commit ${component.commit.slice(0, 12)}` : ""}`,
      ...source,
      Tags: defined({
        [TAG.pipeline]: pipeline.config.name,
        [TAG.source]: component.file,
        [TAG.inputHash]: component.inputHash,
        [TAG.commit]: component.commit,
      }),
    }),
  };
};

/** What shapes the recipe: a change here is a new recipe version. */
const recipeInputs = (pipeline: ManagedPipeline) => ({
  name: pipeline.config.name,
  version: pipeline.definition.recipe.version,
  description: pipeline.definition.description,
  parentImage: pipeline.definition.recipe.parentImage,
  components: pipeline.components.map((component) =>
    component.kind === "local"
      ? { component: component.inputHash, parameters: component.parameters }
      : { component: component.arn, parameters: component.parameters },
  ),
  blockDeviceMappings: pipeline.definition.recipe.blockDeviceMappings,
  workingDirectory: pipeline.definition.recipe.workingDirectory,
});

/**
 * Everything that shapes the image a build produces and where it goes: the recipe, the tests,
 * the distribution. Not the build instance's type, subnet or profile: changing where the image
 * is built is no reason to build it again.
 */
export const pipelineInputHash = (pipeline: ManagedPipeline): string =>
  hashOf({
    recipe: recipeInputs(pipeline),
    tests: pipeline.definition.tests,
    distributions: pipeline.distributions,
  });

const synthesizePipeline = (
  pipeline: ManagedPipeline,
  resources: Json,
  outputs: Json,
  assets: Asset[],
): SynthesizedPipeline => {
  const { config, definition } = pipeline;
  const ids = logicalIds(config.name);
  const inputHash = pipelineInputHash(pipeline);
  const recipeHash = hashOf(recipeInputs(pipeline));
  const components: Record<string, string> = {};
  const add = (id: string, resource: Json) => {
    if (Object.hasOwn(resources, id)) {
      throw new Error(
        `two resources would have the logical id ${id} (pipeline ${config.name}): rename one pipeline or component file`,
      );
    }
    resources[id] = resource;
  };
  const componentArns = pipeline.components.map((component) => {
    if (component.kind === "arn") return component.arn;
    const id = ids.component(component.file);
    components[id] = component.name;
    add(id, componentResource(pipeline, component, assets));
    return { "Fn::GetAtt": [id, "Arn"] };
  });
  const tags = (inputHash: string) =>
    defined({
      [TAG.pipeline]: config.name,
      [TAG.inputHash]: inputHash,
      [TAG.commit]: pipeline.commit,
    });
  add(ids.recipe, {
    Type: "AWS::ImageBuilder::ImageRecipe",
    ...RETAIN,
    Properties: defined({
      Name: config.name,
      Version: definition.recipe.version,
      Description: definition.description,
      ParentImage: definition.recipe.parentImage,
      Components: pipeline.components.map((component, index) =>
        defined({ ComponentArn: componentArns[index], Parameters: parametersOf(component) }),
      ),
      BlockDeviceMappings: blockDeviceMappings(definition.recipe),
      WorkingDirectory: definition.recipe.workingDirectory,
      Tags: tags(recipeHash),
    }),
  });
  const infrastructure = definition.infrastructure;
  add(ids.infrastructure, {
    Type: "AWS::ImageBuilder::InfrastructureConfiguration",
    Properties: defined({
      Name: config.name,
      Description: definition.description,
      InstanceProfileName: infrastructure.instanceProfileName,
      InstanceTypes: infrastructure.instanceTypes,
      SubnetId: infrastructure.subnetId,
      SecurityGroupIds: infrastructure.securityGroupIds,
      // The topic on-image-state subscribes to (config notificationTopicArn).
      SnsTopicArn: config.notificationTopicArn,
      TerminateInstanceOnFailure: infrastructure.terminateInstanceOnFailure,
      Tags: { [TAG.pipeline]: config.name },
    }),
  });
  add(ids.distribution, {
    Type: "AWS::ImageBuilder::DistributionConfiguration",
    Properties: defined({
      Name: config.name,
      Description: definition.description,
      Distributions: pipeline.distributions,
      Tags: { [TAG.pipeline]: config.name },
    }),
  });
  add(ids.pipeline, {
    Type: "AWS::ImageBuilder::ImagePipeline",
    Properties: defined({
      Name: config.name,
      Description: definition.description,
      ImageRecipeArn: { "Fn::GetAtt": [ids.recipe, "Arn"] },
      InfrastructureConfigurationArn: { "Fn::GetAtt": [ids.infrastructure, "Arn"] },
      DistributionConfigurationArn: { "Fn::GetAtt": [ids.distribution, "Arn"] },
      ImageTestsConfiguration: defined({
        ImageTestsEnabled: definition.tests.imageTestsEnabled,
        TimeoutMinutes: definition.tests.timeoutMinutes,
      }),
      EnhancedImageMetadataEnabled: true,
      // No Schedule: the orchestrator starts builds (config `schedule`, start-pipelines) and
      // CI starts them on push (build --changed), so a start condition would never apply.
      Status: "ENABLED",
      Tags: tags(inputHash),
    }),
  });
  outputs[`${ids.pipeline}Arn`] = {
    Description: `Image Builder pipeline ${config.name}`,
    Value: { "Fn::GetAtt": [ids.pipeline, "Arn"] },
  };
  outputs[`${ids.recipe}Arn`] = {
    Description: `Recipe version the pipeline ${config.name} builds`,
    Value: { "Fn::GetAtt": [ids.recipe, "Arn"] },
  };
  return {
    name: config.name,
    arn: config.arn,
    inputHash,
    logicalIds: {
      pipeline: ids.pipeline,
      recipe: ids.recipe,
      infrastructure: ids.infrastructure,
      distribution: ids.distribution,
      components,
    },
  };
};

export const synthesize = (pipelines: readonly ManagedPipeline[], stage: string): Synthesized => {
  const resources: Json = {};
  const outputs: Json = {};
  const assets: Asset[] = [];
  const synthesized = pipelines.map((pipeline) =>
    synthesizePipeline(pipeline, resources, outputs, assets),
  );
  const template = {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `ami-orchestrator ${stage}: the image pipelines defined in pipelines/ (generated by npm run pipelines -- synth; do not edit)`,
    Resources: resources,
    ...(Object.keys(outputs).length > 0 ? { Outputs: outputs } : {}),
  };
  return { stackName: imageStackName(stage), template, assets, pipelines: synthesized };
};
