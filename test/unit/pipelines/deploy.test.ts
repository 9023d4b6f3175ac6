import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
} from "@aws-sdk/client-cloudformation";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { deployStack } from "../../../lib/pipelines/deploy.ts";
import { synthesize } from "../../../lib/pipelines/synth.ts";
import { configWith, goldenRepo, load, managedPipeline, pipelineYml } from "./repo-fixture.ts";

const cloudFormation = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
afterEach(() => {
  cloudFormation.reset();
  s3.reset();
});

const STACK = "ami-orchestrator-test-images";
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 5 };
const deps = () => ({
  cloudFormation: new CloudFormationClient({ region: "eu-west-1" }),
  s3: new S3Client({ region: "eu-west-1" }),
});

describe("deploy", () => {
  it("uploads component documents before the change set that names them, then executes it", async (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        undefined,
        "componentBucket: { name: my-components }\n",
      ),
    });
    const result = synthesize(load(root, configWith(managedPipeline())).pipelines, "test");
    const order: string[] = [];
    s3.on(PutObjectCommand).callsFake(async () => {
      order.push("upload");
      return {};
    });
    cloudFormation.on(DescribeStacksCommand, { StackName: STACK }).resolves({
      Stacks: [{ StackName: STACK, StackStatus: "UPDATE_COMPLETE", CreationTime: new Date() }],
    });
    cloudFormation.on(CreateChangeSetCommand).callsFake(async () => {
      order.push("change set");
      return { Id: "cs" };
    });
    cloudFormation
      .on(DescribeChangeSetCommand)
      .resolves({ Status: "CREATE_COMPLETE", Changes: [] });
    cloudFormation.on(ExecuteChangeSetCommand).callsFake(async () => {
      order.push("execute");
      return {};
    });

    const deployed = await deployStack(deps(), result, {
      templateBody: JSON.stringify(result.template),
      region: "eu-west-1",
      waiter: WAITER,
    });

    assert.deepEqual(order, ["upload", "change set", "execute"]);
    assert.equal(deployed.executed, true);
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    assert.equal(put?.Bucket, "my-components");
    assert.match(String(put?.Key), /^ami-orchestrator\/components\/[0-9a-f]{64}\.yml$/);
  });

  it("executes nothing when there is nothing to change", async (t) => {
    const result = synthesize(load(goldenRepo(t), configWith(managedPipeline())).pipelines, "test");
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: STACK, StackStatus: "UPDATE_COMPLETE", CreationTime: new Date() }],
    });
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    cloudFormation.on(DescribeChangeSetCommand).resolves({
      Status: "FAILED",
      StatusReason: "No updates are to be performed.",
    });
    const deployed = await deployStack(deps(), result, {
      templateBody: JSON.stringify(result.template),
      region: "eu-west-1",
      waiter: WAITER,
    });
    assert.equal(deployed.executed, false);
    assert.equal(cloudFormation.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it("says which resource failed when the stack does not deploy", async (t) => {
    const result = synthesize(load(goldenRepo(t), configWith(managedPipeline())).pipelines, "test");
    cloudFormation
      .on(DescribeStacksCommand)
      .resolvesOnce({
        Stacks: [{ StackName: STACK, StackStatus: "UPDATE_COMPLETE", CreationTime: new Date() }],
      })
      .resolves({
        Stacks: [
          { StackName: STACK, StackStatus: "UPDATE_ROLLBACK_COMPLETE", CreationTime: new Date() },
        ],
      });
    cloudFormation.on(CreateChangeSetCommand).resolves({ Id: "cs" });
    cloudFormation
      .on(DescribeChangeSetCommand)
      .resolves({ Status: "CREATE_COMPLETE", Changes: [] });
    cloudFormation.on(ExecuteChangeSetCommand).resolves({});
    cloudFormation.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        {
          StackId: "s",
          EventId: "e",
          StackName: STACK,
          Timestamp: new Date(),
          LogicalResourceId: "GoldenComponentHarden",
          ResourceStatus: "CREATE_FAILED",
          ResourceStatusReason: "ResourceAlreadyExistsException: identical component",
        },
      ],
    });
    await assert.rejects(
      deployStack(deps(), result, {
        templateBody: JSON.stringify(result.template),
        region: "eu-west-1",
        waiter: WAITER,
      }),
      /did not deploy: GoldenComponentHarden: ResourceAlreadyExistsException: identical component/,
    );
  });
});
