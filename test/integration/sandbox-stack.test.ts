import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { describe, it } from "node:test";
import { loadConfig } from "../../lib/config/load.ts";
import { deployedOutputs } from "../../sandbox/deployed-stack.ts";
import { worldFromConfig } from "../../sandbox/world-from-config.ts";
import { BUILD_ACCOUNT, repoPath } from "../helpers/fixtures.ts";

/**
 * The orchestrator's stack as the sandbox deploys it, for DescribeStacks: its outputs are
 * serverless.yml's resolved as CloudFormation resolves them, and the same as `serverless package`
 * hands CloudFormation.
 */
const config = loadConfig(repoPath("config/orchestrator.yml"));
const site = (stage: string) => ({
  accountId: BUILD_ACCOUNT,
  region: "eu-west-1",
  stage,
  resources: {
    StateTable: {
      Ref: "the-table",
      Arn: `arn:aws:dynamodb:eu-west-1:${BUILD_ACCOUNT}:table/the-table`,
    },
    AlertsTopic: { Ref: `arn:aws:sns:eu-west-1:${BUILD_ACCOUNT}:the-topic` },
  },
});

describe("the orchestrator's stack in the sandbox", () => {
  it("outputs the table, the function and the topic as serverless.yml's Refs and GetAtts resolve", () => {
    const outputs = Object.fromEntries(
      deployedOutputs(config, site("prod")).map((output) => [output.OutputKey, output]),
    );
    assert.equal(outputs.StateTableName?.OutputValue, "the-table");
    assert.equal(
      outputs.StateTableArn?.OutputValue,
      `arn:aws:dynamodb:eu-west-1:${BUILD_ACCOUNT}:table/the-table`,
    );
    assert.equal(
      outputs.WatchRolloutsFunctionName?.OutputValue,
      "ami-orchestrator-prod-watch-rollouts",
    );
    assert.equal(
      outputs.WatchRolloutsFunctionArn?.OutputValue,
      `arn:aws:lambda:eu-west-1:${BUILD_ACCOUNT}:function:ami-orchestrator-prod-watch-rollouts`,
    );
    assert.equal(
      outputs.AlertsTopicArn?.OutputValue,
      `arn:aws:sns:eu-west-1:${BUILD_ACCOUNT}:the-topic`,
    );
    // A queue the sandbox has no counterpart of: CloudFormation's generated name.
    assert.match(
      outputs.FailedEventsQueueUrl?.OutputValue ?? "",
      /^https:\/\/sqs\.eu-west-1\.amazonaws\.com\/999999999999\/ami-orchestrator-prod-FailedEventsQueue-[A-Z0-9]{12}$/,
    );
    assert.equal(
      outputs.ServerlessDeploymentBucketName?.ExportName,
      "sls-ami-orchestrator-prod-ServerlessDeploymentBucketName",
    );
  });

  it("DescribeStacks answers it in its account and region, and nowhere else", async () => {
    const world = await worldFromConfig(config, { start: "2026-11-23T01:00:00Z" });
    const describe = (region: string, StackName: string) =>
      world.call({
        service: "cloudformation",
        operation: "DescribeStacks",
        input: { StackName },
        accountId: BUILD_ACCOUNT,
        region,
      });
    const { Stacks } = (await describe("eu-west-1", "ami-orchestrator-sandbox")) as {
      Stacks: Array<{ StackId: string; StackStatus: string; Outputs: unknown[] }>;
    };
    assert.equal(Stacks.length, 1);
    assert.match(
      Stacks[0]?.StackId ?? "",
      /^arn:aws:cloudformation:eu-west-1:999999999999:stack\/ami-orchestrator-sandbox\/[0-9a-f-]{36}$/,
    );
    // By its ID too (DescribeStacks StackName: "the name or the unique stack ID").
    assert.equal(
      ((await describe("eu-west-1", Stacks[0]?.StackId ?? "")) as { Stacks: unknown[] }).Stacks
        .length,
      1,
    );
    for (const [region, name] of [
      ["eu-west-3", "ami-orchestrator-sandbox"],
      ["eu-west-1", "ami-orchestrator-prod"],
    ] as const)
      await assert.rejects(describe(region, name), {
        name: "ValidationError",
        message: `Stack with id ${name} does not exist`,
      });
  });

  it("has the packaged template's outputs: keys, descriptions and export names", (t) => {
    const packaged = repoPath(".serverless/cloudformation-template-update-stack.json");
    const sources = ["serverless.yml", "config/orchestrator.yml"];
    if (
      !existsSync(packaged) ||
      sources.some((source) => statSync(repoPath(source)).mtimeMs > statSync(packaged).mtimeMs)
    ) {
      t.skip("no up-to-date `npm run package` output to compare with");
      return;
    }
    const state = JSON.parse(
      readFileSync(repoPath(".serverless/serverless-state.json"), "utf8"),
    ) as { service: { provider: { stage: string } } };
    const template = JSON.parse(readFileSync(packaged, "utf8")) as {
      Outputs: Record<string, { Description?: string; Export?: { Name: string } }>;
    };
    const shape = (
      outputs: Array<{ OutputKey: string; Description?: string; ExportName?: string }>,
    ) =>
      Object.fromEntries(
        outputs.map((output) => [
          output.OutputKey,
          { description: output.Description, exportName: output.ExportName },
        ]),
      );
    assert.deepEqual(
      shape(deployedOutputs(config, site(state.service.provider.stage))),
      shape(
        Object.entries(template.Outputs).map(([OutputKey, output]) => ({
          OutputKey,
          ...(output.Description === undefined ? {} : { Description: output.Description }),
          ...(output.Export ? { ExportName: output.Export.Name } : {}),
        })),
      ),
    );
  });
});
