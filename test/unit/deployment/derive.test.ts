import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { parseCloudFormationYaml } from "../../../lib/deployment/cloudformation.ts";
import {
  deriveSettings,
  INSTANCE_REFRESH_PATTERN,
  pollRuleName,
  scheduleName,
  targetAssumingRoleName,
} from "../../../lib/deployment/index.ts";
import {
  alarmTopicProblems,
  checkTemplate,
  queuePolicyProblems,
  serverlessFunctions,
} from "../../../scripts/check-template.ts";
import { loadEvent, pipelineArn, repoPath, testConfig } from "../../helpers/fixtures.ts";

/** An EventBridge pattern of exact values (all this project uses): arrays list accepted values. */
type Pattern = { readonly [field: string]: readonly unknown[] | Pattern };

/**
 * EventBridge matching for such patterns (EventBridge user guide, eb-event-patterns): every
 * field of the pattern must be in the event; a leaf matches if the event's value (or one of its
 * values, for an array) is listed.
 */
const matchesPattern = (pattern: Pattern, event: unknown): boolean =>
  Object.entries(pattern).every(([field, expected]) => {
    const value = (event as Record<string, unknown> | undefined)?.[field];
    if (value === undefined) return false;
    if (!Array.isArray(expected)) return matchesPattern(expected as Pattern, value);
    if (expected.some((item) => typeof item === "object" && item !== null))
      throw new Error(`content filters are not modelled here: ${JSON.stringify(expected)}`);
    return [value].flat().some((item) => expected.includes(item));
  });

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
    const [rule, disabledRule, ...topics] = deriveSettings(config, options).onImageStateEvents;
    assert.deepEqual(rule, {
      eventBridge: {
        pattern: {
          source: ["aws.imagebuilder"],
          "detail-type": ["EC2 Image Builder Image State Change"],
          detail: { state: { status: ["AVAILABLE", "FAILED"] } },
        },
      },
    });
    assert.deepEqual(disabledRule, {
      eventBridge: {
        pattern: {
          source: ["aws.imagebuilder"],
          "detail-type": ["EC2 Image Builder Image Pipeline Automatically Disabled"],
        },
      },
    });
    assert.deepEqual(topics, [{ sns: { arn: topic } }]);
  });

  it("delivers Image Builder's pipeline-auto-disabled event to on-image-state, and AVAILABLE/FAILED images", () => {
    const patterns = deriveSettings(testConfig(), options).onImageStateEvents.flatMap(
      (event): Pattern[] => {
        const pattern = (event as { eventBridge?: { pattern: Pattern } }).eventBridge?.pattern;
        return pattern ? [pattern] : [];
      },
    );
    const delivered = (name: string) =>
      patterns.some((pattern) => matchesPattern(pattern, loadEvent(name)));
    assert.ok(delivered("imagebuilder-eventbridge-pipeline-disabled"));
    assert.ok(delivered("imagebuilder-eventbridge-image-available"));
    assert.ok(delivered("imagebuilder-eventbridge-image-failed"));
    const building = loadEvent("imagebuilder-eventbridge-image-available");
    (building.detail as { state: { status: string } }).state.status = "BUILDING";
    assert.ok(!patterns.some((pattern) => matchesPattern(pattern, building)));
  });

  it("accepts every instance-refresh event the parser knows on watch-rollouts' rule", () => {
    const pattern = deriveSettings(testConfig(), options).instanceRefreshPattern;
    assert.ok(matchesPattern(pattern, loadEvent("asg-instance-refresh-succeeded")));
    assert.ok(
      pattern["detail-type"].includes("EC2 Auto Scaling Instance Refresh Checkpoint Reached"),
    );
  });

  it("delivers the forwarded failed launches to explain-launch-failure's rule, and only those", () => {
    const pattern = deriveSettings(testConfig(), options).launchUnsuccessfulPattern;
    assert.ok(matchesPattern(pattern, loadEvent("asg-launch-unsuccessful")));
    assert.ok(!matchesPattern(pattern, loadEvent("asg-instance-refresh-failed")));
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

  it("names watch-rollouts' poll rule after the service and stage, the ARN its scheduled events carry", () => {
    assert.equal(
      pollRuleName("ami-orchestrator", "prod"),
      "ami-orchestrator-prod-watch-rollouts-poll",
    );
    const serverlessYml = readFileSync(repoPath("serverless.yml"), "utf8");
    assert.match(serverlessYml, /name: \$\{self:custom\.derived\.pollRuleName\}/);
    assert.match(
      serverlessYml,
      /POLL_RULE_ARN: !Sub arn:\$\{AWS::Partition\}:events:\$\{AWS::Region\}:\$\{AWS::AccountId\}:rule\/\$\{self:custom\.derived\.pollRuleName\}/,
    );
    // EventBridge rule names: at most 64 of [.\-_A-Za-z0-9] (API reference, PutRule Name).
    assert.throws(() => pollRuleName("ami-orchestrator", "x".repeat(28)), /at most 27 characters/);
    assert.throws(
      () => pollRuleName("ami-orchestrator", "pr/od"),
      /not a valid EventBridge rule name/,
    );
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

  it("flags on-image-state without a rule for pipelines Image Builder disabled", () => {
    const fn = (pattern: unknown) => ({
      Resources: {
        OnImageState: {
          Type: "AWS::Lambda::Function",
          Properties: {
            FunctionName: "ami-orchestrator-dev-on-image-state",
            Runtime: "nodejs22.x",
            Architectures: ["arm64"],
            Role: { "Fn::GetAtt": ["OnImageStateRole", "Arn"] },
          },
        },
        Invoke: {
          Type: "AWS::Lambda::EventInvokeConfig",
          Properties: {
            FunctionName: { Ref: "OnImageState" },
            DestinationConfig: { OnFailure: { Destination: "arn:queue" } },
          },
        },
        Rule: {
          Type: "AWS::Events::Rule",
          Properties: {
            EventPattern: pattern,
            Targets: [{ Arn: { "Fn::GetAtt": ["OnImageState", "Arn"] } }],
          },
        },
      },
    });
    const imageState = deriveSettings(config, options).onImageStateEvents.flatMap(
      (event) => (event as { eventBridge?: { pattern: unknown } }).eventBridge?.pattern ?? [],
    );
    const checkOnImageState = (t: ReturnType<typeof fn>) =>
      checkTemplate(t, config, () => [], ["on-image-state"]).filter((problem) =>
        problem.startsWith("on-image-state"),
      );
    assert.deepEqual(checkOnImageState(fn(imageState[0])), [
      "on-image-state: no EventBridge rule for pipelines Image Builder disabled",
    ]);
    const both = fn(imageState[0]);
    (both.Resources as Record<string, unknown>).DisabledRule = {
      ...both.Resources.Rule,
      Properties: { ...both.Resources.Rule.Properties, EventPattern: imageState[1] },
    };
    assert.deepEqual(checkOnImageState(both), []);
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

  it("expects every function serverless.yml declares, explain-launch-failure among them", () => {
    const declared = Object.keys(
      parseCloudFormationYaml(readFileSync(repoPath("serverless.yml"), "utf8")).functions,
    );
    assert.deepEqual(serverlessFunctions(), declared);
    assert.ok(declared.includes("explain-launch-failure"));
    // The template above has start-pipelines only: by default, each other function is missing.
    const missing = checkTemplate(template([]), config).filter((problem) =>
      problem.endsWith(" is missing"),
    );
    assert.deepEqual(
      missing,
      declared
        .filter((name) => name !== "start-pipelines")
        .map((name) => `function ${name} is missing`),
    );
  });

  describe("topics that alarms notify", () => {
    const alarmOn = (topic: string) => ({
      Type: "AWS::CloudWatch::Alarm",
      Properties: { AlarmActions: [{ Ref: topic }] },
    });
    const key = (principals: string[], actions: string[]) => ({
      Type: "AWS::KMS::Key",
      Properties: {
        KeyPolicy: {
          Statement: principals.map((service) => ({
            Effect: "Allow",
            Principal: { Service: service },
            Action: actions,
            Resource: "*",
          })),
        },
      },
    });
    const topic = (kmsMasterKeyId?: unknown) => ({
      Type: "AWS::SNS::Topic",
      Properties: kmsMasterKeyId === undefined ? {} : { KmsMasterKeyId: kmsMasterKeyId },
    });

    it("flags a topic on alias/aws/sns: CloudWatch cannot publish to it", () => {
      assert.deepEqual(
        alarmTopicProblems({ Topic: topic("alias/aws/sns"), Alarm: alarmOn("Topic") }),
        [
          "Topic: alarms notify it, but it is encrypted with alias/aws/sns, which CloudWatch cannot use",
        ],
      );
      assert.equal(
        alarmTopicProblems({
          Topic: topic("arn:aws:kms:eu-west-1:999999999999:alias/aws/sns"),
          Alarm: alarmOn("Topic"),
        }).length,
        1,
      );
    });

    it("flags a customer-managed key whose policy does not admit cloudwatch.amazonaws.com", () => {
      assert.deepEqual(
        alarmTopicProblems({
          Key: key(["events.amazonaws.com"], ["kms:Decrypt", "kms:GenerateDataKey*"]),
          Topic: topic({ "Fn::GetAtt": ["Key", "Arn"] }),
          Alarm: alarmOn("Topic"),
        }),
        [
          "Topic: alarms notify it, but its key Key does not let cloudwatch.amazonaws.com kms:Decrypt, kms:GenerateDataKey",
        ],
      );
    });

    it("accepts a key that admits CloudWatch, an unencrypted topic, and alias/aws/sns where no alarm publishes", () => {
      assert.deepEqual(
        alarmTopicProblems({
          Key: key(["cloudwatch.amazonaws.com"], ["kms:Decrypt", "kms:GenerateDataKey*"]),
          Alarmed: topic({ Ref: "Key" }),
          Plain: topic(),
          Quiet: topic("alias/aws/sns"),
          A: alarmOn("Alarmed"),
          B: alarmOn("Plain"),
        }),
        [],
      );
    });

    it("passes serverless.yml's own topics and key", () => {
      const serverless = parseCloudFormationYaml(readFileSync(repoPath("serverless.yml"), "utf8"));
      const resources = Object.assign(
        {},
        ...serverless.resources.map((part: { Resources?: object }) => part.Resources ?? {}),
      );
      assert.ok(
        Object.values(resources).some(
          (r) => (r as { Type: string }).Type === "AWS::CloudWatch::Alarm",
        ),
      );
      assert.deepEqual(alarmTopicProblems(resources), []);
    });
  });
});

describe("queues only their senders may send to", () => {
  const serverlessResources = () => {
    const serverless = parseCloudFormationYaml(readFileSync(repoPath("serverless.yml"), "utf8"));
    return Object.assign(
      {},
      ...serverless.resources.map((part: { Resources?: object }) => part.Resources ?? {}),
    ) as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const sender = (queue: string) => ({
    Type: "AWS::IAM::Role",
    Properties: {
      Policies: [
        {
          PolicyDocument: {
            Statement: [
              {
                Effect: "Allow",
                Action: "sqs:SendMessage",
                Resource: { "Fn::GetAtt": [queue, "Arn"] },
              },
            ],
          },
        },
      ],
    },
  });
  const policy = (queue: string, roles: string[]) => ({
    Type: "AWS::SQS::QueuePolicy",
    Properties: {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: [
          {
            Effect: "Deny",
            Principal: "*",
            Action: "sqs:SendMessage",
            Resource: { "Fn::GetAtt": [queue, "Arn"] },
            Condition: {
              ArnNotEquals: {
                "aws:PrincipalArn": roles.map((role) => ({ "Fn::GetAtt": [role, "Arn"] })),
              },
            },
          },
        ],
      },
    },
  });
  const queue = { Type: "AWS::SQS::Queue", Properties: {} };

  it("passes serverless.yml: each queue a role sends to refuses every other principal", () => {
    const resources = serverlessResources();
    assert.deepEqual(queuePolicyProblems(resources), []);
    // The rollout queue's senders, as the roles' statements name them.
    const rollout = Object.values(resources).find(
      (resource) =>
        resource.Type === "AWS::SQS::QueuePolicy" &&
        JSON.stringify(resource.Properties.Queues) === JSON.stringify([{ Ref: "RolloutQueue" }]),
    );
    assert.match(JSON.stringify(rollout), /OnImageStateRole.*WatchRolloutsRole.*RollOutTargetRole/);
  });

  it("flags a queue a role sends to with no policy limiting senders", () => {
    assert.deepEqual(queuePolicyProblems({ Queue: queue, Sender: sender("Queue") }), [
      "Queue: no queue policy denies sqs:SendMessage to principals other than its senders (Sender)",
    ]);
  });

  it("flags a sender the policy leaves out (it would be locked out) and a listed role that does not send", () => {
    assert.deepEqual(
      queuePolicyProblems({
        Queue: queue,
        Sender: sender("Queue"),
        Other: { Type: "AWS::IAM::Role", Properties: {} },
        Policy: policy("Queue", ["Other"]),
      }),
      [
        "Policy: denies sqs:SendMessage to Sender, which sends to Queue",
        "Policy: lets Other send to Queue, but its role does not",
      ],
    );
    assert.deepEqual(
      queuePolicyProblems({
        Queue: queue,
        Sender: sender("Queue"),
        Policy: policy("Queue", ["Sender"]),
      }),
      [],
    );
  });

  it("flags a policy whose deny does not cover SendMessage for every principal", () => {
    const allowOnly = policy("Queue", ["Sender"]);
    const statement = (
      allowOnly.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>
    )[0];
    if (statement) statement.Effect = "Allow";
    assert.deepEqual(
      queuePolicyProblems({ Queue: queue, Sender: sender("Queue"), Policy: allowOnly }),
      [
        "Queue: no queue policy denies sqs:SendMessage to principals other than its senders (Sender)",
      ],
    );
  });
});

describe("least privilege across accounts", () => {
  const ORCHESTRATOR = "999999999999";
  const TARGET = "111111111111";
  const BUS = `arn:aws:events:eu-west-1:${ORCHESTRATOR}:event-bus/default`;
  /** The bus policy statement as CloudFormation resolves it in the orchestrator's account. */
  const busPolicy = () => {
    const statement = JSON.parse(
      JSON.stringify(deriveSettings(testConfig(), options).eventBusPolicyStatement)
        .replaceAll(`$\{AWS::Partition}`, "aws")
        .replaceAll(`$\{AWS::Region}`, "eu-west-1")
        .replaceAll(`$\{AWS::AccountId}`, ORCHESTRATOR),
      (_key, value) =>
        value && typeof value === "object" && "Fn::Sub" in value ? value["Fn::Sub"] : value,
    );
    return { Version: "2012-10-17", Statement: [statement] };
  };
  const putEvents = async (source: string, detailType: string) => {
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:iam::${TARGET}:role/forwarder`,
          action: "events:PutEvents",
          resource: { resource: BUS, accountId: ORCHESTRATOR },
          contextVariables: { "events:source": [source], "events:detail-type": [detailType] },
        },
        identityPolicies: [
          {
            name: "anything",
            policy: {
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: "*" }],
            },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: busPolicy(),
      },
      {},
    );
    if (result.resultType === "error") return assert.fail(JSON.stringify(result.errors));
    return result.overallResult;
  };

  it("a target account may put only instance-refresh events and failed launches on the orchestrator's bus", async () => {
    for (const detailType of INSTANCE_REFRESH_PATTERN["detail-type"])
      assert.equal(await putEvents("aws.autoscaling", detailType), "Allowed", detailType);
    assert.equal(
      await putEvents("aws.autoscaling", "EC2 Instance Launch Unsuccessful"),
      "Allowed",
      "failed launches, for explain-launch-failure",
    );
    assert.equal(
      await putEvents("aws.imagebuilder", "EC2 Image Builder Image State Change"),
      "ImplicitlyDenied",
      "a forged image state change",
    );
    assert.equal(
      await putEvents("aws.autoscaling", "EC2 Instance Launch Successful"),
      "ImplicitlyDenied",
    );
    assert.equal(
      await putEvents("com.attacker", "EC2 Auto Scaling Instance Refresh Succeeded"),
      "ImplicitlyDenied",
    );
  });

  it("names the roles target accounts trust after the service and stage, within IAM's 64 characters", () => {
    const settings = deriveSettings(testConfig(), { ...options, stage: "prod" });
    assert.equal(settings.rollOutTargetRoleName, "ami-orchestrator-prod-roll-out-target");
    assert.equal(settings.watchRolloutsRoleName, "ami-orchestrator-prod-watch-rollouts");
    assert.equal(
      settings.explainLaunchFailureRoleName,
      "ami-orchestrator-prod-explain-launch-failure",
    );
    // The longest function name sets the stage limit the target template enforces (24).
    assert.doesNotThrow(() => deriveSettings(testConfig(), { ...options, stage: "x".repeat(24) }));
    assert.throws(
      () => deriveSettings(testConfig(), { ...options, stage: "x".repeat(25) }),
      /use a shorter stage \(at most 24 characters\)/,
    );
    assert.equal(
      targetAssumingRoleName("ami-orchestrator", "x".repeat(31), "roll-out-target").length,
      64,
    );
    assert.throws(
      () => targetAssumingRoleName("ami-orchestrator", "x".repeat(32), "roll-out-target"),
      /at most 64 characters: use a shorter stage \(at most 31 characters\)/,
    );
  });

  it("scopes ListWorkflowStepExecutions to the build accounts' workflow executions", () => {
    const partition = "$" + "{AWS::Partition}";
    assert.deepEqual(deriveSettings(testConfig(), options).workflowExecutionArns, [
      { "Fn::Sub": `arn:${partition}:imagebuilder:eu-west-1:999999999999:workflow-execution/*` },
      { "Fn::Sub": `arn:${partition}:imagebuilder:eu-west-3:999999999999:workflow-execution/*` },
    ]);
  });

  it("scopes GetImageRecipe to the build accounts' recipes", () => {
    const partition = "$" + "{AWS::Partition}";
    assert.deepEqual(deriveSettings(testConfig(), options).imageRecipeArns, [
      { "Fn::Sub": `arn:${partition}:imagebuilder:eu-west-1:999999999999:image-recipe/*` },
      { "Fn::Sub": `arn:${partition}:imagebuilder:eu-west-3:999999999999:image-recipe/*` },
    ]);
  });
});
