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

  it("scopes roll-out-target to the configured target roles and on-image-state to the build accounts' images", () => {
    const settings = deriveSettings(testConfig(), options);
    // CloudFormation's own ${AWS::Partition}, kept literally for Fn::Sub.
    const partition = "$" + "{AWS::Partition}";
    assert.deepEqual(settings.targetRoleArns, [
      { "Fn::Sub": `arn:${partition}:iam::111111111111:role/ami-orchestrator-target` },
      { "Fn::Sub": `arn:${partition}:iam::222222222222:role/ami-orchestrator-target` },
    ]);
    assert.deepEqual(settings.imageArns, [
      { "Fn::Sub": `arn:${partition}:imagebuilder:eu-west-1:999999999999:image/*` },
      { "Fn::Sub": `arn:${partition}:imagebuilder:eu-west-3:999999999999:image/*` },
    ]);
  });

  it("triggers on-image-state from EventBridge, and from each distinct pipeline SNS topic", () => {
    const topic = "arn:aws:sns:eu-west-1:999999999999:imagebuilder-notifications";
    const config = testConfig(`  - name: other
    arn: ${pipelineArn("other")}
    notificationTopicArn: ${topic}
  - name: another
    arn: ${pipelineArn("another")}
    notificationTopicArn: ${topic}`);
    const [rule, ...topics] = deriveSettings(config, options).onImageStateEvents;
    assert.deepEqual(rule, {
      eventBridge: {
        pattern: {
          source: ["aws.imagebuilder"],
          "detail-type": ["EC2 Image Builder Image State Change"],
          detail: { state: { status: ["AVAILABLE", "FAILED"] } },
        },
      },
    });
    assert.deepEqual(topics, [{ sns: { arn: topic } }]);
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
      Invoke: {
        Type: "AWS::Lambda::EventInvokeConfig",
        Properties: {
          FunctionName: { Ref: "Fn" },
          DestinationConfig: { OnFailure: { Destination: "arn:queue" } },
        },
      },
    },
  });
  const check = (t: ReturnType<typeof template>) =>
    checkTemplate(t, config, () => [], ["start-pipelines"]);

  it("passes a well-formed template", () => {
    assert.deepEqual(
      check(
        template([{ Effect: "Allow", Action: "imagebuilder:GetImagePipeline", Resource: "*" }]),
      ),
      [],
    );
  });

  it("flags a mutating action granted on every resource", () => {
    const problems = check(
      template([
        { Effect: "Allow", Action: ["imagebuilder:StartImagePipelineExecution"], Resource: "*" },
      ]),
    );
    assert.deepEqual(problems, [
      'Role: mutating action imagebuilder:StartImagePipelineExecution on "*"',
    ]);
  });

  it("flags a missing schedule and a wrong runtime", () => {
    const bad = template([]);
    delete (bad.Resources as Record<string, unknown>).Schedule;
    delete (bad.Resources as Record<string, unknown>).Invoke;
    bad.Resources.Fn.Properties.Runtime = "nodejs18.x";
    assert.deepEqual(check(bad), [
      "Fn: runtime nodejs18.x, expected nodejs22.x",
      "0 schedules for 1 scheduled pipelines",
      "no schedule for pipeline base",
      "start-pipelines: no on-failure destination for failed asynchronous events",
    ]);
  });
});
