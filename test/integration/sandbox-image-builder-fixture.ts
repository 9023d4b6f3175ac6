import { deployImageStack } from "../../sandbox/cloudformation/deploy-image-stack.ts";
import { SandboxWorld } from "../../sandbox/model/world.ts";

/**
 * The image stack the sandbox-image-builder-* tests deploy, written by hand (independent of the
 * pipelines synthesizer): a component, a recipe using it, configurations and a pipeline.
 */

export const ACCOUNT = "111111111111";
export const TARGET = "222222222222";
export const REGION = "eu-west-1";
export const BASE = `arn:aws:imagebuilder:${REGION}:${ACCOUNT}`;

export const newWorld = () =>
  new SandboxWorld({
    start: "2026-03-02T10:00:00Z",
    orchestratorAccountId: ACCOUNT,
    orchestratorRegion: REGION,
  });

export const componentDocument = (command: string) =>
  `name: hardening\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - name: Harden\n        action: ExecuteBash\n        inputs:\n          commands:\n            - ${command}\n`;

export interface Options {
  readonly command?: string;
  readonly description?: string;
  readonly recipeVersion?: string;
  readonly retain?: boolean;
}

/** The image stack: a component, a recipe using it, configurations and a pipeline. */
export const imageStack = (options: Options = {}) => {
  const retain = options.retain ? { UpdateReplacePolicy: "Retain", DeletionPolicy: "Retain" } : {};
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Resources: {
      Hardening: {
        Type: "AWS::ImageBuilder::Component",
        ...retain,
        Properties: {
          Name: "hardening",
          Version: "1.0.0",
          Platform: "Linux",
          Description: options.description ?? "CIS hardening",
          Data: componentDocument(options.command ?? "echo harden"),
          Tags: { pipeline: "web" },
        },
      },
      Recipe: {
        Type: "AWS::ImageBuilder::ImageRecipe",
        ...retain,
        Properties: {
          Name: "web",
          Version: options.recipeVersion ?? "1.0.x",
          ParentImage: `arn:aws:imagebuilder:${REGION}:aws:image/amazon-linux-2023-x86/x.x.x`,
          Components: [{ ComponentArn: { "Fn::GetAtt": ["Hardening", "Arn"] } }],
        },
      },
      Infrastructure: {
        Type: "AWS::ImageBuilder::InfrastructureConfiguration",
        Properties: { Name: "web", InstanceProfileName: "EC2InstanceProfileForImageBuilder" },
      },
      Distribution: {
        Type: "AWS::ImageBuilder::DistributionConfiguration",
        Properties: {
          Name: "web",
          Distributions: [
            { Region: REGION, AmiDistributionConfiguration: { TargetAccountIds: [TARGET] } },
          ],
        },
      },
      Pipeline: {
        Type: "AWS::ImageBuilder::ImagePipeline",
        Properties: {
          Name: "web",
          ImageRecipeArn: { Ref: "Recipe" },
          InfrastructureConfigurationArn: { Ref: "Infrastructure" },
          DistributionConfigurationArn: { Ref: "Distribution" },
          ImageTestsConfiguration: { ImageTestsEnabled: "true", TimeoutMinutes: 90 },
        },
      },
    },
    Outputs: {
      PipelineArn: { Value: { "Fn::GetAtt": ["Pipeline", "Arn"] } },
      RecipeArn: { Value: { Ref: "Recipe" } },
    },
  };
};

export const deploy = (world: SandboxWorld, template: object, accessKeyId?: string) =>
  deployImageStack(world, {
    accountId: ACCOUNT,
    region: REGION,
    stackName: "images-dev",
    template,
    ...(accessKeyId ? { accessKeyId } : {}),
  });

export type Change = {
  ResourceChange: Record<string, unknown> & { Details?: Array<Record<string, unknown>> };
};
export const changeOf = (changes: ReadonlyArray<Record<string, unknown>>, logicalId: string) =>
  (changes as Change[]).find((change) => change.ResourceChange.LogicalResourceId === logicalId)
    ?.ResourceChange;

export const componentBuilds = (world: SandboxWorld) =>
  [...world.imageBuilderResources.components.keys()].sort();
export const recipes = (world: SandboxWorld) =>
  [...world.imageBuilderResources.recipes.keys()].sort();
