import assert from "node:assert/strict";
import { afterEach, describe, it, type TestContext } from "node:test";
import {
  type Change,
  CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
} from "@aws-sdk/client-cloudformation";
import { ImagebuilderClient, ListImagePipelineImagesCommand } from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import { ChangeSetError, changeSetNameFor } from "../../../lib/pipelines/change-set.ts";
import { planDeploy, renderPlan } from "../../../lib/pipelines/plan.ts";
import { synthesize } from "../../../lib/pipelines/synth.ts";
import { configWith, goldenRepo, load, managedPipeline } from "./repo-fixture.ts";

const cloudFormation = mockClient(CloudFormationClient);
const imageBuilder = mockClient(ImagebuilderClient);
afterEach(() => {
  cloudFormation.reset();
  imageBuilder.reset();
});

const STACK = "ami-orchestrator-test-images";

const synthesized = (t: TestContext) =>
  synthesize(load(goldenRepo(t), configWith(managedPipeline())).pipelines, "test");

const deps = () => ({
  cloudFormation: new CloudFormationClient({ region: "eu-west-1" }),
  imageBuilder: new ImagebuilderClient({ region: "eu-west-1" }),
});

const notFound = () =>
  Object.assign(new Error(`Stack with id ${STACK} does not exist`), { name: "ValidationError" });

const change = (
  logicalId: string,
  action: "Add" | "Modify" | "Remove",
  type: string,
  replacement?: "True" | "False",
  properties: string[] = [],
): Change => ({
  Type: "Resource",
  ResourceChange: {
    Action: action,
    LogicalResourceId: logicalId,
    ResourceType: type,
    ...(replacement ? { Replacement: replacement } : {}),
    Details: properties.map((name) => ({ Target: { Attribute: "Properties", Name: name } })),
  },
});

const request = (templateBody: string) => ({
  stackName: STACK,
  templateBody,
  waiter: { minDelay: 1, maxDelay: 1, maxWaitTime: 5 },
});

describe("plan", () => {
  it("plans a first deploy as a CREATE change set, then deletes it and the empty stack", async (t) => {
    const result = synthesized(t);
    const body = JSON.stringify(result.template);
    cloudFormation.on(DescribeStacksCommand).rejects(notFound());
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    cloudFormation.on(DescribeChangeSetCommand).resolves({
      Status: "CREATE_COMPLETE",
      Changes: Object.entries(result.template.Resources as Record<string, { Type: string }>).map(
        ([id, resource]) => change(id, "Add", resource.Type),
      ),
    });

    const plan = await planDeploy(deps(), result, request(body));

    const create = cloudFormation.commandCalls(CreateChangeSetCommand)[0]?.args[0].input;
    assert.equal(create?.ChangeSetType, "CREATE");
    assert.equal(create?.ChangeSetName, changeSetNameFor(body));
    assert.equal(create?.TemplateBody, body);
    assert.equal(cloudFormation.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.deepEqual(cloudFormation.commandCalls(DeleteStackCommand)[0]?.args[0].input, {
      StackName: STACK,
    });
    const [golden] = plan.pipelines;
    assert.equal(golden?.components[0]?.versioning, "first version");
    assert.equal(golden?.pipeline.outcome, "created");
    assert.deepEqual(golden?.build, { start: true, reason: "new pipeline: its first image" });
    assert.equal(imageBuilder.commandCalls(ListImagePipelineImagesCommand).length, 0);
  });

  it("tells a new build of a changed component, a replaced recipe and a pipeline updated in place", async (t) => {
    const result = synthesized(t);
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: STACK, StackStatus: "UPDATE_COMPLETE", CreationTime: new Date() }],
    });
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    // Two pages: the plan reads them all.
    cloudFormation
      .on(DescribeChangeSetCommand)
      .resolves({
        Status: "CREATE_COMPLETE",
        NextToken: "page-2",
        Changes: [
          change("GoldenComponentHarden", "Modify", "AWS::ImageBuilder::Component", "True", [
            "Data",
            "ChangeDescription",
          ]),
          change("GoldenRecipe", "Modify", "AWS::ImageBuilder::ImageRecipe", "True", [
            "Components",
          ]),
        ],
      })
      .on(DescribeChangeSetCommand, { NextToken: "page-2" })
      .resolves({
        Status: "CREATE_COMPLETE",
        Changes: [
          change("GoldenPipeline", "Modify", "AWS::ImageBuilder::ImagePipeline", "False", [
            "ImageRecipeArn",
          ]),
          change("GoldenComponentOld", "Remove", "AWS::ImageBuilder::Component"),
        ],
      });
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({
      imageSummaryList: [
        {
          arn: "arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/1.0.1/1",
          dateCreated: "2026-11-01T03:00:00Z",
          state: { status: "AVAILABLE" },
          tags: { "ami-orchestrator:input-hash": "0".repeat(64) },
        },
      ],
    });

    const plan = await planDeploy(deps(), result, request(JSON.stringify(result.template)));

    assert.equal(plan.changeSetType, "UPDATE");
    const [golden] = plan.pipelines;
    assert.deepEqual(
      golden?.components.map((c) => [c.name, c.outcome, c.versioning, c.replacedBy]),
      [["golden-harden", "replaced", "new build", ["Data", "ChangeDescription"]]],
    );
    assert.equal(golden?.recipe.outcome, "replaced");
    assert.equal(golden?.pipeline.outcome, "updated in place");
    assert.equal(golden?.infrastructure.outcome, "unchanged");
    assert.equal(golden?.build.start, true);
    assert.deepEqual(
      plan.others.map((other) => [other.logicalId, other.outcome]),
      [["GoldenComponentOld", "removed"]],
    );
    assert.equal(
      cloudFormation.commandCalls(DeleteStackCommand).length,
      0,
      "a deployed stack stays",
    );
    assert.deepEqual(renderPlan(plan).slice(1), [
      "  golden",
      "    component golden-harden: replaced: new build (Data, ChangeDescription)",
      "    recipe: replaced: a new recipe version (the previous one is retained) (Components)",
      "    infrastructure: unchanged",
      "    distribution: unchanged",
      "    pipeline: updated in place (ImageRecipeArn)",
      "    build after deploy: would start (inputs changed since arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/1.0.1/1 (input 0000000000000000 → " +
        `${result.pipelines[0]?.inputHash.slice(0, 16)}))`,
      "  GoldenComponentOld: removed from the stack, retained in Image Builder",
    ]);
  });

  it("says a changed version is a new version, not a new build", async (t) => {
    const result = synthesized(t);
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: STACK, StackStatus: "CREATE_COMPLETE", CreationTime: new Date() }],
    });
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    cloudFormation.on(DescribeChangeSetCommand).resolves({
      Status: "CREATE_COMPLETE",
      Changes: [
        change("GoldenComponentHarden", "Modify", "AWS::ImageBuilder::Component", "True", [
          "Version",
          "Data",
        ]),
      ],
    });
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({ imageSummaryList: [] });
    const plan = await planDeploy(deps(), result, request(JSON.stringify(result.template)));
    assert.equal(plan.pipelines[0]?.components[0]?.versioning, "new version");
  });

  it("reports no changes when CloudFormation finds none, and says no build would start", async (t) => {
    const result = synthesized(t);
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: STACK, StackStatus: "UPDATE_COMPLETE", CreationTime: new Date() }],
    });
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    cloudFormation.on(DescribeChangeSetCommand).resolves({
      Status: "FAILED",
      StatusReason:
        "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({
      imageSummaryList: [
        {
          arn: "arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/1.0.1/1",
          state: { status: "AVAILABLE" },
          tags: { "ami-orchestrator:input-hash": result.pipelines[0]?.inputHash ?? "" },
        },
      ],
    });
    const plan = await planDeploy(deps(), result, request(JSON.stringify(result.template)));
    assert.equal(plan.noChanges, true);
    assert.equal(plan.pipelines[0]?.recipe.outcome, "unchanged");
    assert.equal(plan.pipelines[0]?.build.start, false);
    assert.equal(cloudFormation.commandCalls(DeleteChangeSetCommand).length, 1);
  });

  it("fails with CloudFormation's reason when the change set fails, leaving nothing behind", async (t) => {
    const result = synthesized(t);
    cloudFormation.on(DescribeStacksCommand).rejects(notFound());
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    cloudFormation.on(DescribeChangeSetCommand).resolves({
      Status: "FAILED",
      StatusReason: "Template error: instance of Fn::GetAtt references undefined resource X",
    });
    await assert.rejects(
      planDeploy(deps(), result, request(JSON.stringify(result.template))),
      (error: unknown) =>
        error instanceof ChangeSetError &&
        /FAILED: Template error: instance of Fn::GetAtt/.test(error.message),
    );
    assert.equal(cloudFormation.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cloudFormation.commandCalls(DeleteStackCommand).length, 1);
  });

  it("replaces a change set an interrupted plan left behind", async (t) => {
    const result = synthesized(t);
    cloudFormation.on(DescribeStacksCommand).rejects(notFound());
    cloudFormation
      .on(CreateChangeSetCommand)
      .rejectsOnce(Object.assign(new Error("exists"), { name: "AlreadyExistsException" }))
      .resolves({ Id: "cs" });
    cloudFormation
      .on(DescribeChangeSetCommand)
      .resolves({ Status: "CREATE_COMPLETE", Changes: [] });
    await planDeploy(deps(), result, request(JSON.stringify(result.template)));
    assert.equal(cloudFormation.commandCalls(CreateChangeSetCommand).length, 2);
    assert.equal(cloudFormation.commandCalls(DeleteChangeSetCommand).length, 2);
  });

  it("refuses a template too big for a request body before calling AWS", async (t) => {
    const result = synthesized(t);
    await assert.rejects(
      planDeploy(deps(), result, request("x".repeat(51201))),
      /51201 bytes, more than the 51200 CloudFormation takes in a request: pass --template-bucket/,
    );
    assert.equal(cloudFormation.calls().length, 0);
  });
});
