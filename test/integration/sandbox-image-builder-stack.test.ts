import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  waitUntilChangeSetCreateComplete,
  waitUntilStackCreateComplete,
} from "@aws-sdk/client-cloudformation";
import {
  GetImageCommand,
  ImagebuilderClient,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import { deployImageStack } from "../../sandbox/cloudformation/deploy-image-stack.ts";
import { type InstalledSandbox, installSandbox } from "../../sandbox/install.ts";
import type { SandboxWorld } from "../../sandbox/model/world.ts";
import {
  ACCOUNT,
  BASE,
  changeOf,
  componentBuilds,
  deploy,
  imageStack,
  newWorld,
  REGION,
  recipes,
  TARGET,
} from "./sandbox-image-builder-fixture.ts";

/**
 * The image stack deployed by CloudFormation in the sandbox: change sets that say what a deploy
 * would replace, the resource schemas' replacement rules applied by creating the new resource
 * before deleting the old, Retain policies and rollback.
 */

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
