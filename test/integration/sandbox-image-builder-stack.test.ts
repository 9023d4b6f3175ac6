import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeEventsCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  waitUntilChangeSetCreateComplete,
  waitUntilStackCreateComplete,
} from "@aws-sdk/client-cloudformation";
import {
  GetImageCommand,
  GetImagePipelineCommand,
  ImagebuilderClient,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import { deployImageStack } from "../../sandbox/cloudformation/deploy-image-stack.ts";
import { IamAuthorizer } from "../../sandbox/iam/authorizer.ts";
import { type InstalledSandbox, installSandbox } from "../../sandbox/install.ts";
import { SandboxWorld } from "../../sandbox/model/world.ts";

/**
 * The image stack deployed by CloudFormation in the sandbox: change sets that say what a deploy
 * would replace, the resource schemas' replacement rules applied by creating the new resource
 * before deleting the old, Retain policies, rollback, and the refusals CloudFormation answers.
 * The templates are written here by hand, independent of the pipelines synthesizer.
 */

const ACCOUNT = "111111111111";
const TARGET = "222222222222";
const REGION = "eu-west-1";
const BASE = `arn:aws:imagebuilder:${REGION}:${ACCOUNT}`;

const newWorld = () =>
  new SandboxWorld({
    start: "2026-03-02T10:00:00Z",
    orchestratorAccountId: ACCOUNT,
    orchestratorRegion: REGION,
  });

const componentDocument = (command: string) =>
  `name: hardening\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - name: Harden\n        action: ExecuteBash\n        inputs:\n          commands:\n            - ${command}\n`;

interface Options {
  readonly command?: string;
  readonly description?: string;
  readonly recipeVersion?: string;
  readonly retain?: boolean;
}

/** The image stack: a component, a recipe using it, configurations and a pipeline. */
const imageStack = (options: Options = {}) => {
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

const deploy = (world: SandboxWorld, template: object, accessKeyId?: string) =>
  deployImageStack(world, {
    accountId: ACCOUNT,
    region: REGION,
    stackName: "images-dev",
    template,
    ...(accessKeyId ? { accessKeyId } : {}),
  });

type Change = {
  ResourceChange: Record<string, unknown> & { Details?: Array<Record<string, unknown>> };
};
const changeOf = (changes: ReadonlyArray<Record<string, unknown>>, logicalId: string) =>
  (changes as Change[]).find((change) => change.ResourceChange.LogicalResourceId === logicalId)
    ?.ResourceChange;

const componentBuilds = (world: SandboxWorld) =>
  [...world.imageBuilderResources.components.keys()].sort();
const recipes = (world: SandboxWorld) => [...world.imageBuilderResources.recipes.keys()].sort();

describe("CloudFormation change sets for the image stack (through the SDK)", () => {
  const world = newWorld();
  let sandbox: InstalledSandbox;
  const cloudFormation = () => new CloudFormationClient({ region: REGION });
  before(() => {
    sandbox = installSandbox(world);
  });
  after(() => sandbox.restore());

  it("creates the stack from a CREATE change set: every resource an Add, then CREATE_COMPLETE with outputs", async () => {
    const client = cloudFormation();
    const { Id } = await client.send(
      new CreateChangeSetCommand({
        StackName: "images-dev",
        ChangeSetName: "commit-abc123",
        ChangeSetType: "CREATE",
        TemplateBody: JSON.stringify(imageStack()),
      }),
    );
    await waitUntilChangeSetCreateComplete(
      { client, maxWaitTime: 60 },
      { ChangeSetName: Id, StackName: "images-dev" },
    );
    const review = await client.send(new DescribeStacksCommand({ StackName: "images-dev" }));
    assert.equal(review.Stacks?.[0]?.StackStatus, "REVIEW_IN_PROGRESS");
    const plan = await client.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
    assert.deepEqual(
      plan.Changes?.map((change) => [
        change.ResourceChange?.LogicalResourceId,
        change.ResourceChange?.Action,
      ]),
      [
        ["Distribution", "Add"],
        ["Hardening", "Add"],
        ["Infrastructure", "Add"],
        ["Recipe", "Add"],
        ["Pipeline", "Add"],
      ],
    );
    await client.send(new ExecuteChangeSetCommand({ ChangeSetName: Id }));
    await waitUntilStackCreateComplete({ client, maxWaitTime: 60 }, { StackName: "images-dev" });
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: "images-dev" }));
    assert.deepEqual(Stacks?.[0]?.Outputs, [
      { OutputKey: "PipelineArn", OutputValue: `${BASE}:image-pipeline/web` },
      { OutputKey: "RecipeArn", OutputValue: `${BASE}:image-recipe/web/1.0.0` },
    ]);
    assert.deepEqual(componentBuilds(world), [`${BASE}:component/hardening/1.0.0/1`]);
  });

  it("builds an AVAILABLE image from the stack's pipeline, distributed to the configured account", async () => {
    const images = new ImagebuilderClient({ region: REGION });
    const { imageBuildVersionArn } = await images.send(
      new StartImagePipelineExecutionCommand({
        imagePipelineArn: `${BASE}:image-pipeline/web`,
        clientToken: "abc123-9f2c",
        tags: { commit: "abc123" },
      }),
    );
    assert.equal(imageBuildVersionArn, `${BASE}:image/web/1.0.0/1`);
    world.clock.advance(60 * 60_000);
    const { image } = await images.send(new GetImageCommand({ imageBuildVersionArn }));
    assert.equal(image?.state?.status, "AVAILABLE");
    assert.deepEqual(image?.tags, { commit: "abc123" });
    assert.deepEqual(image?.outputResources?.amis?.map((ami) => ami.accountId).sort(), [
      ACCOUNT,
      TARGET,
    ]);
  });

  it("shows a changed component document as: component replaced, recipe conditionally replaced, pipeline updated in place", async () => {
    const client = cloudFormation();
    const { Id } = await client.send(
      new CreateChangeSetCommand({
        StackName: "images-dev",
        ChangeSetName: "commit-def456",
        TemplateBody: JSON.stringify(imageStack({ command: "echo harden more" })),
      }),
    );
    const plan = await client.send(new DescribeChangeSetCommand({ ChangeSetName: Id }));
    const byId = Object.fromEntries(
      (plan.Changes ?? []).map((change) => [
        change.ResourceChange?.LogicalResourceId,
        change.ResourceChange,
      ]),
    );
    assert.deepEqual(Object.keys(byId).sort(), ["Hardening", "Pipeline", "Recipe"]);
    assert.equal(byId.Hardening?.Replacement, "True");
    assert.deepEqual(byId.Hardening?.Details, [
      {
        Target: { Attribute: "Properties", Name: "Data", RequiresRecreation: "Always" },
        Evaluation: "Static",
        ChangeSource: "DirectModification",
      },
    ]);
    assert.equal(byId.Recipe?.Replacement, "Conditional");
    assert.deepEqual(byId.Recipe?.Details, [
      {
        Target: { Attribute: "Properties", Name: "Components", RequiresRecreation: "Always" },
        Evaluation: "Dynamic",
        ChangeSource: "ResourceAttribute",
        CausingEntity: "Hardening.Arn",
      },
    ]);
    assert.equal(byId.Pipeline?.Replacement, "False");
    assert.equal(byId.Pipeline?.Details?.[0]?.ChangeSource, "ResourceReference");
  });
});

describe("deploying the image stack: replacement rules, Retain, rollback", () => {
  it("replaces the component (build /2) and the recipe (1.0.x → 1.0.1), updates the pipeline in place, deletes the old versions", async () => {
    const world = newWorld();
    await deploy(world, imageStack());
    const result = await deploy(world, imageStack({ command: "echo harden more" }));
    assert.equal(result.status, "UPDATE_COMPLETE");
    assert.equal(result.outputs.RecipeArn, `${BASE}:image-recipe/web/1.0.1`);
    assert.equal(result.outputs.PipelineArn, `${BASE}:image-pipeline/web`);
    assert.deepEqual(componentBuilds(world), [`${BASE}:component/hardening/1.0.0/2`]);
    assert.deepEqual(recipes(world), [`${BASE}:image-recipe/web/1.0.1`]);
    const pipeline = (await world.call({
      service: "imagebuilder",
      operation: "GetImagePipeline",
      accountId: ACCOUNT,
      region: REGION,
      input: { imagePipelineArn: `${BASE}:image-pipeline/web` },
    })) as { imagePipeline: { imageRecipeArn: string } };
    assert.equal(pipeline.imagePipeline.imageRecipeArn, `${BASE}:image-recipe/web/1.0.1`);
    assert.equal(world.callsTo("imagebuilder:UpdateImagePipeline").length, 1);
    assert.equal(world.callsTo("imagebuilder:CreateImagePipeline").length, 1);
  });

  it("keeps the previous component and recipe versions with UpdateReplacePolicy: Retain", async () => {
    const world = newWorld();
    await deploy(world, imageStack({ retain: true }));
    const result = await deploy(world, imageStack({ retain: true, command: "echo harden more" }));
    assert.equal(result.status, "UPDATE_COMPLETE");
    assert.deepEqual(componentBuilds(world), [
      `${BASE}:component/hardening/1.0.0/1`,
      `${BASE}:component/hardening/1.0.0/2`,
    ]);
    assert.deepEqual(recipes(world), [
      `${BASE}:image-recipe/web/1.0.0`,
      `${BASE}:image-recipe/web/1.0.1`,
    ]);
  });

  it("says a deploy without changes has nothing to do, and executes nothing", async () => {
    const world = newWorld();
    await deploy(world, imageStack());
    const creates = world.callsTo("imagebuilder:CreateComponent").length;
    const result = await deploy(world, imageStack());
    assert.equal(result.executed, false);
    assert.equal(result.status, "CREATE_COMPLETE");
    assert.equal(world.callsTo("imagebuilder:CreateComponent").length, creates);
    const { Summaries } = (await world.call({
      service: "cloudformation",
      operation: "ListChangeSets",
      accountId: ACCOUNT,
      region: REGION,
      input: { StackName: "images-dev" },
    })) as { Summaries: Array<{ ExecutionStatus: string }> };
    // The executed change set stays; the empty one was deleted.
    assert.deepEqual(
      Summaries.map((summary) => summary.ExecutionStatus),
      ["EXECUTE_COMPLETE"],
    );
  });

  it("fails a replacement whose document did not change (identical content) and rolls back", async () => {
    const world = newWorld();
    await deploy(world, imageStack());
    const result = await deploy(world, imageStack({ description: "CIS level 2 hardening" }));
    assert.equal(changeOf(result.changes, "Hardening")?.Replacement, "True");
    assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE");
    assert.equal(result.statusReason, "The following resource(s) failed to update: [Hardening].");
    const { StackEvents } = (await world.call({
      service: "cloudformation",
      operation: "DescribeStackEvents",
      accountId: ACCOUNT,
      region: REGION,
      input: { StackName: "images-dev" },
    })) as { StackEvents: Array<{ ResourceStatus: string; ResourceStatusReason?: string }> };
    assert.equal(
      StackEvents.find((event) => event.ResourceStatus === "UPDATE_FAILED")?.ResourceStatusReason,
      "Resource of type 'AWS::ImageBuilder::Component' with identifier 'ComponentArn' already exists.",
    );
    assert.deepEqual(componentBuilds(world), [`${BASE}:component/hardening/1.0.0/1`]);
    assert.equal(result.outputs.RecipeArn, `${BASE}:image-recipe/web/1.0.0`);
  });

  it("rolls a failed update back: an explicit recipe version cannot be created twice, so the new component build goes", async () => {
    const world = newWorld();
    await deploy(world, imageStack({ recipeVersion: "1.0.0" }));
    const result = await deploy(
      world,
      imageStack({ recipeVersion: "1.0.0", command: "echo more" }),
    );
    assert.equal(result.status, "UPDATE_ROLLBACK_COMPLETE");
    assert.equal(result.statusReason, "The following resource(s) failed to update: [Recipe].");
    // Build /2 was created, then deleted by the rollback; the pipeline still uses 1.0.0.
    assert.equal(world.callsTo("imagebuilder:CreateComponent", { succeeded: true }).length, 2);
    assert.deepEqual(componentBuilds(world), [`${BASE}:component/hardening/1.0.0/1`]);
    assert.equal(result.outputs.RecipeArn, `${BASE}:image-recipe/web/1.0.0`);
    assert.equal(
      world.imageBuilder.pipelines.get(`${BASE}:image-pipeline/web`)?.recipeVersion,
      "1.0.0",
    );
  });
});

describe("a YAML template with parameters and short-form intrinsics", () => {
  const yaml = `
Parameters:
  Commit:
    Type: String
Resources:
  Hardening:
    Type: AWS::ImageBuilder::Component
    UpdateReplacePolicy: Retain
    Properties:
      Name: hardening
      Version: 1.0.0
      Platform: Linux
      ChangeDescription: !Sub "commit \${Commit}"
      Data: !Sub |
        name: hardening
        schemaVersion: 1.0
        phases:
          - name: build
            steps:
              - name: Harden
                action: ExecuteBash
                inputs:
                  commands: ["echo \${Commit}"]
Outputs:
  ComponentArn:
    Value: !GetAtt Hardening.Arn
`;
  const deployYaml = (world: SandboxWorld, commit: string) =>
    deployImageStack(world, {
      accountId: ACCOUNT,
      region: REGION,
      stackName: "images-dev",
      template: yaml,
      parameters: { Commit: commit },
    });

  it("replaces the component when a parameter its createOnly properties use changes, naming the parameter", async () => {
    const world = newWorld();
    const created = await deployYaml(world, "abc123");
    assert.equal(created.outputs.ComponentArn, `${BASE}:component/hardening/1.0.0/1`);
    const updated = await deployYaml(world, "def456");
    const change = changeOf(updated.changes, "Hardening");
    assert.equal(change?.Replacement, "True");
    assert.deepEqual(
      change?.Details,
      ["ChangeDescription", "Data"].map((name) => ({
        Target: { Attribute: "Properties", Name: name, RequiresRecreation: "Always" },
        Evaluation: "Static",
        ChangeSource: "ParameterReference",
        CausingEntity: "Commit",
      })),
    );
    assert.equal(updated.outputs.ComponentArn, `${BASE}:component/hardening/1.0.0/2`);
  });

  it("deletes the stack's resources with DeleteStack, keeping those marked Retain", async () => {
    const world = newWorld();
    await deploy(world, imageStack({ retain: true }));
    await world.call({
      service: "cloudformation",
      operation: "DeleteStack",
      accountId: ACCOUNT,
      region: REGION,
      input: { StackName: "images-dev" },
    });
    assert.deepEqual(componentBuilds(world), [`${BASE}:component/hardening/1.0.0/1`]);
    assert.deepEqual(recipes(world), [`${BASE}:image-recipe/web/1.0.0`]);
    assert.equal(world.imageBuilder.pipelines.size, 0);
    assert.equal(world.imageBuilderResources.infrastructureConfigurations.size, 0);
    await assert.rejects(
      world.call({
        service: "cloudformation",
        operation: "DescribeStacks",
        accountId: ACCOUNT,
        region: REGION,
        input: { StackName: "images-dev" },
      }),
      /does not exist/,
    );
  });
});

describe("what CloudFormation refuses", () => {
  const createChangeSet = (world: SandboxWorld, template: object) =>
    world.call({
      service: "cloudformation",
      operation: "CreateChangeSet",
      accountId: ACCOUNT,
      region: REGION,
      input: {
        StackName: "images-dev",
        ChangeSetName: "refused",
        ChangeSetType: "CREATE",
        TemplateBody: JSON.stringify(template),
      },
    }) as Promise<{ Id: string }>;
  const withResource = (extra: Record<string, unknown>) => {
    const template = imageStack();
    return { ...template, Resources: { ...template.Resources, ...extra } };
  };
  const refusedWith = (name: string, message: RegExp) => (error: unknown) => {
    assert.equal((error as Error).name, name, (error as Error).message);
    assert.match((error as Error).message, message);
    return true;
  };

  it("an unknown resource type, as a template format error", async () => {
    await assert.rejects(
      createChangeSet(newWorld(), withResource({ Bad: { Type: "AWS::ImageBuilder::Widget" } })),
      refusedWith("ValidationError", /Unrecognized resource types: \[AWS::ImageBuilder::Widget\]/),
    );
  });

  it("a reference to nothing, and an attribute the type does not have", async () => {
    const template = imageStack();
    template.Resources.Pipeline.Properties.ImageRecipeArn = { Ref: "Missing" };
    await assert.rejects(
      createChangeSet(newWorld(), template),
      refusedWith("ValidationError", /Unresolved resource dependencies \[Missing\]/),
    );
    const attribute = imageStack();
    attribute.Resources.Recipe.Properties.Components = [
      { ComponentArn: { "Fn::GetAtt": ["Hardening", "Checksum"] } },
    ];
    await assert.rejects(
      createChangeSet(newWorld(), attribute),
      refusedWith("ValidationError", /does not support attribute type Checksum/),
    );
  });

  it("an unknown or mistyped property, by pre-deployment validation: the change set fails, DescribeEvents says where", async () => {
    const world = newWorld();
    const template = imageStack();
    Object.assign(template.Resources.Hardening.Properties, { Platfrom: "Linux" });
    template.Resources.Infrastructure.Properties.Name = "";
    const { Id } = await createChangeSet(world, template);
    const described = (await world.call({
      service: "cloudformation",
      operation: "DescribeChangeSet",
      accountId: ACCOUNT,
      region: REGION,
      input: { ChangeSetName: Id },
    })) as { Status: string; StatusReason: string; ExecutionStatus: string };
    assert.equal(described.Status, "FAILED");
    assert.equal(described.ExecutionStatus, "UNAVAILABLE");
    assert.match(described.StatusReason, /AWS::EarlyValidation::PropertyValidation/);
    const events = (await world.call({
      service: "cloudformation",
      operation: "DescribeEvents",
      accountId: ACCOUNT,
      region: REGION,
      input: { ChangeSetName: Id },
    })) as { OperationEvents: Array<{ ValidationPath: string; ValidationStatusReason: string }> };
    assert.deepEqual(
      events.OperationEvents.map((event) => [event.ValidationPath, event.ValidationStatusReason]),
      [
        ["/Resources/Hardening/Properties", "extraneous key [Platfrom] is not permitted"],
        [
          "/Resources/Infrastructure/Properties/Name",
          "string [] does not match pattern ^[-_A-Za-z-0-9][-_A-Za-z0-9 ]{1,126}[-_A-Za-z-0-9]$",
        ],
      ],
    );
    await assert.rejects(
      world.call({
        service: "cloudformation",
        operation: "ExecuteChangeSet",
        accountId: ACCOUNT,
        region: REGION,
        input: { ChangeSetName: Id },
      }),
      refusedWith("InvalidChangeSetStatusException", /FAILED/),
    );
  });

  it("a type CloudFormation knows but the sandbox does not deploy (AWS::ImageBuilder::Image), said so", async () => {
    await assert.rejects(
      createChangeSet(
        newWorld(),
        withResource({
          Image: {
            Type: "AWS::ImageBuilder::Image",
            Properties: { ImageRecipeArn: { Ref: "Recipe" } },
          },
        }),
      ),
      refusedWith("SandboxNotModelled", /AWS::ImageBuilder::Image/),
    );
  });
});

describe("the deploying principal's permissions are checked for every resource", () => {
  const CI_ROLE = `arn:aws:iam::${ACCOUNT}:role/image-pipelines-ci`;
  const policy = (imageBuilderActions: string[]) => ({
    roleArn: CI_ROLE,
    trustPolicy: { Version: "2012-10-17", Statement: [] },
    policies: [
      {
        name: "deploy",
        policy: {
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: ["cloudformation:*"], Resource: "*" },
            { Effect: "Allow", Action: imageBuilderActions, Resource: "*" },
          ],
        },
      },
    ],
  });
  const asCiRole = async (world: SandboxWorld, actions: string[]) => {
    const authorizer = new IamAuthorizer(world, {
      functionRoles: new Map(),
      roles: new Map([[CI_ROLE, policy(actions)]]),
    });
    world.authorizer = authorizer;
    world.sts.addRole({ accountId: ACCOUNT, roleName: "image-pipelines-ci" });
    const { Credentials } = (await world.call({
      service: "sts",
      operation: "AssumeRole",
      accountId: ACCOUNT,
      region: REGION,
      input: { RoleArn: CI_ROLE, RoleSessionName: "github-actions" },
    })) as { Credentials: { AccessKeyId: string } };
    return { session: Credentials.AccessKeyId, authorizer };
  };

  it("rolls the new stack back when the role may not create the pipeline, naming the missing action", async () => {
    const world = newWorld();
    const { session, authorizer } = await asCiRole(world, [
      "imagebuilder:CreateComponent",
      "imagebuilder:GetComponent",
      "imagebuilder:DeleteComponent",
      "imagebuilder:CreateImageRecipe",
      "imagebuilder:DeleteImageRecipe",
      "imagebuilder:CreateInfrastructureConfiguration",
      "imagebuilder:DeleteInfrastructureConfiguration",
      "imagebuilder:CreateDistributionConfiguration",
      "imagebuilder:DeleteDistributionConfiguration",
      "imagebuilder:GetImagePipeline",
      "imagebuilder:GetInfrastructureConfiguration",
      "imagebuilder:GetDistributionConfiguration",
      "imagebuilder:TagResource",
    ]);
    const result = await deploy(world, imageStack(), session);
    assert.equal(result.status, "ROLLBACK_COMPLETE");
    const refusal = authorizer.report();
    assert.match(
      refusal,
      /assumed-role\/image-pipelines-ci\/github-actions imagebuilder:CreateImagePipeline/,
    );
    // Everything the failed creation made was deleted again, as the role.
    assert.deepEqual(componentBuilds(world), []);
    assert.deepEqual(recipes(world), []);
  });

  it("deploys with the role once it has what the stack needs", async () => {
    const world = newWorld();
    const { session } = await asCiRole(world, ["imagebuilder:*"]);
    const result = await deploy(world, imageStack(), session);
    assert.equal(result.status, "CREATE_COMPLETE");
    assert.ok(world.callsTo("imagebuilder:CreateImagePipeline")[0]?.accessKeyId === session);
  });
});

describe("DescribeChangeSet pages its changes", () => {
  it("returns a NextToken past the page size, and every change across the pages", async () => {
    const world = newWorld();
    world.cloudFormation.changesPageBytes = 400;
    const result = await deploy(world, imageStack());
    assert.equal(result.changes.length, 5);
    const first = (await world.call({
      service: "cloudformation",
      operation: "DescribeChangeSet",
      accountId: ACCOUNT,
      region: REGION,
      input: { ChangeSetName: result.changeSetId },
    })) as { Changes: unknown[]; NextToken?: string };
    assert.ok(first.NextToken);
    assert.ok(first.Changes.length < 5);
  });

  it("includes property values only when asked (IncludePropertyValues)", async () => {
    const world = newWorld();
    await deploy(world, imageStack());
    const { Id } = (await world.call({
      service: "cloudformation",
      operation: "CreateChangeSet",
      accountId: ACCOUNT,
      region: REGION,
      input: {
        StackName: "images-dev",
        ChangeSetName: "values",
        TemplateBody: JSON.stringify(imageStack({ command: "echo v2" })),
      },
    })) as { Id: string };
    const described = (await world.call({
      service: "cloudformation",
      operation: "DescribeChangeSet",
      accountId: ACCOUNT,
      region: REGION,
      input: { ChangeSetName: Id, IncludePropertyValues: true },
    })) as { Changes: Change[] };
    const recipe = changeOf(
      described.Changes as unknown as Array<Record<string, unknown>>,
      "Recipe",
    );
    assert.match(String(recipe?.AfterContext), /\{\{changeSet:KNOWN_AFTER_APPLY\}\}/);
    const hardening = changeOf(
      described.Changes as unknown as Array<Record<string, unknown>>,
      "Hardening",
    );
    assert.match(
      String((hardening?.Details?.[0]?.Target as { AfterValue?: string } | undefined)?.AfterValue),
      /echo v2/,
    );
  });
});

describe("DescribeStacks", () => {
  it("answers a stack it does not know as CloudFormation does", async () => {
    const world = newWorld();
    await assert.rejects(
      world.call({
        service: "cloudformation",
        operation: "DescribeStacks",
        accountId: ACCOUNT,
        region: REGION,
        input: { StackName: "images-prod" },
      }),
      (error: Error) =>
        error.name === "ValidationError" &&
        /Stack with id images-prod does not exist/.test(error.message),
    );
  });

  it("reports the pipeline through GetImagePipeline with what the template set", async () => {
    const world = newWorld();
    await deploy(world, imageStack());
    const sandbox = installSandbox(world);
    try {
      const { imagePipeline } = await new ImagebuilderClient({ region: REGION }).send(
        new GetImagePipelineCommand({ imagePipelineArn: `${BASE}:image-pipeline/web` }),
      );
      assert.deepEqual(imagePipeline?.imageTestsConfiguration, {
        imageTestsEnabled: true,
        timeoutMinutes: 90,
      });
      assert.equal(
        imagePipeline?.infrastructureConfigurationArn,
        `${BASE}:infrastructure-configuration/web`,
      );
      const events = await new CloudFormationClient({ region: REGION }).send(
        new DescribeStackEventsCommand({ StackName: "images-dev" }),
      );
      assert.equal(events.StackEvents?.[0]?.ResourceStatus, "CREATE_COMPLETE");
      const validation = await new CloudFormationClient({ region: REGION }).send(
        new DescribeEventsCommand({ StackName: "images-dev" }),
      );
      assert.ok((validation.OperationEvents ?? []).length > 0);
    } finally {
      sandbox.restore();
    }
  });
});
