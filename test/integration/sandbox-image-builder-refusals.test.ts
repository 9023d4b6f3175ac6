import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CloudFormationClient,
  DescribeEventsCommand,
  DescribeStackEventsCommand,
} from "@aws-sdk/client-cloudformation";
import { GetImagePipelineCommand, ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { IamAuthorizer } from "../../sandbox/iam/authorizer.ts";
import { installSandbox } from "../../sandbox/install.ts";
import type { SandboxWorld } from "../../sandbox/model/world.ts";
import {
  ACCOUNT,
  BASE,
  type Change,
  changeOf,
  componentBuilds,
  deploy,
  imageStack,
  newWorld,
  REGION,
  recipes,
} from "./sandbox-image-builder-fixture.ts";

/**
 * What the sandbox's CloudFormation refuses as CloudFormation does (template format errors,
 * pre-deployment validation, name conflicts), the deploying principal's IAM checked for every
 * resource, and the read operations (paged change sets, events, stacks).
 */

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

  it("a named resource that exists outside the stack, by the name conflict check", async () => {
    const world = newWorld();
    await world.call({
      service: "imagebuilder",
      operation: "CreateDistributionConfiguration",
      accountId: ACCOUNT,
      region: REGION,
      input: { name: "web", distributions: [{ region: REGION }] },
    });
    const { Id } = await createChangeSet(world, imageStack());
    const described = (await world.call({
      service: "cloudformation",
      operation: "DescribeChangeSet",
      accountId: ACCOUNT,
      region: REGION,
      input: { ChangeSetName: Id },
    })) as { Status: string; StatusReason: string };
    assert.equal(described.Status, "FAILED");
    assert.match(described.StatusReason, /AWS::EarlyValidation::ResourceExistenceCheck/);
    const events = (await world.call({
      service: "cloudformation",
      operation: "DescribeEvents",
      accountId: ACCOUNT,
      region: REGION,
      input: { ChangeSetName: Id },
    })) as { OperationEvents: Array<{ ValidationName: string; ValidationStatusReason: string }> };
    assert.deepEqual(
      events.OperationEvents.map((event) => [event.ValidationName, event.ValidationStatusReason]),
      [
        [
          "NAME_CONFLICT_VALIDATION",
          "Resource of type 'AWS::ImageBuilder::DistributionConfiguration' with identifier 'web' already exists.",
        ],
      ],
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
