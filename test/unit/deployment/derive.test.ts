import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deriveSettings, scheduleName } from "../../../lib/deployment/index.ts";
import { checkTemplate } from "../../../scripts/check-template.ts";
import { pipelineArn, testConfig } from "../../helpers/fixtures.ts";

const options = {
  service: "ami-orchestrator",
  stage: "dev",
  schedulerRoleArn: "role",
  alertsTopic: "topic",
};

describe("settings derived for serverless.yml", () => {
  it("creates one Scheduler schedule per scheduled pipeline, with the contract input", () => {
    const settings = deriveSettings(testConfig(), options);

    assert.deepEqual(settings.startPipelinesEvents, [
      {
        schedule: {
          method: "scheduler",
          name: "ami-orchestrator-dev-base",
          description: "Starts Image Builder pipeline base (ami-orchestrator)",
          rate: ["cron(0 3 ? * MON *)"],
          timezone: "Europe/Paris",
          enabled: true,
          roleArn: "role",
          input: { pipeline: "base", scheduledTime: "<aws.scheduler.scheduled-time>" },
        },
      },
    ]);
  });

  it("scopes IAM to the configured pipeline ARNs", () => {
    assert.deepEqual(deriveSettings(testConfig(), options).pipelineArns, [
      pipelineArn("base"),
      pipelineArn("web", "eu-west-3"),
    ]);
  });

  it("subscribes every alert email to the topic", () => {
    const config = testConfig("notifications:\n  email: [a@example.com, b@example.com]\n");
    const subscriptions = deriveSettings(config, options).alertEmailSubscriptions;
    assert.deepEqual(Object.keys(subscriptions), [
      "AlertEmailSubscription0",
      "AlertEmailSubscription1",
    ]);
    assert.deepEqual(subscriptions.AlertEmailSubscription1, {
      Type: "AWS::SNS::Subscription",
      Properties: { TopicArn: "topic", Protocol: "email", Endpoint: "b@example.com" },
    });
  });

  it("keeps schedule names within Scheduler's 64 characters, and distinct", () => {
    const long = "x".repeat(60);
    const a = scheduleName("ami-orchestrator", "production", `${long}-a`);
    const b = scheduleName("ami-orchestrator", "production", `${long}-b`);
    assert.ok(a.length <= 64 && b.length <= 64);
    assert.notEqual(a, b);
    assert.match(a, /^[\w.-]+$/);
  });
});

describe("packaged template check", () => {
  const config = testConfig();
  const template = (statements: unknown[]) => ({
    Resources: {
      Fn: {
        Type: "AWS::Lambda::Function",
        Properties: {
          FunctionName: "ami-orchestrator-dev-start-pipelines",
          Runtime: "nodejs22.x",
          Architectures: ["arm64"],
          Role: { "Fn::GetAtt": ["StartPipelinesRole", "Arn"] },
        },
      },
      Schedule: {
        Type: "AWS::Scheduler::Schedule",
        Properties: {
          ScheduleExpression: "cron(0 3 ? * MON *)",
          ScheduleExpressionTimezone: "Europe/Paris",
          FlexibleTimeWindow: { Mode: "OFF" },
          Target: {
            Input: JSON.stringify({
              pipeline: "base",
              scheduledTime: "<aws.scheduler.scheduled-time>",
            }),
          },
        },
      },
      Role: {
        Type: "AWS::IAM::Role",
        Properties: { Policies: [{ PolicyDocument: { Statement: statements } }] },
      },
    },
  });

  it("passes a well-formed template", () => {
    assert.deepEqual(
      checkTemplate(
        template([{ Effect: "Allow", Action: "imagebuilder:GetImagePipeline", Resource: "*" }]),
        config,
      ),
      [],
    );
  });

  it("flags a mutating action granted on every resource", () => {
    const problems = checkTemplate(
      template([
        { Effect: "Allow", Action: ["imagebuilder:StartImagePipelineExecution"], Resource: "*" },
      ]),
      config,
    );
    assert.deepEqual(problems, [
      'Role: mutating action imagebuilder:StartImagePipelineExecution on "*"',
    ]);
  });

  it("flags a missing schedule and a wrong runtime", () => {
    const bad = template([]);
    delete (bad.Resources as Record<string, unknown>).Schedule;
    bad.Resources.Fn.Properties.Runtime = "nodejs18.x";
    assert.deepEqual(checkTemplate(bad, config), [
      "Fn: runtime nodejs18.x, expected nodejs22.x",
      "0 schedules for 1 scheduled pipelines",
      "no schedule for pipeline base",
    ]);
  });
});
