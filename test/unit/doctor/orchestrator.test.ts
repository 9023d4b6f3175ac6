import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { beforeEach, describe, it } from "node:test";
import { GetScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import {
  ListSubscriptionsByTopicCommand,
  ListSubscriptionsCommand,
  SNSClient,
} from "@aws-sdk/client-sns";
import { DescribeParametersCommand, GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { parseConfig } from "../../../lib/config/load.ts";
import { orchestratorDeployment } from "../../../lib/doctor/deployment.ts";
import { checkOrchestratorDeployment } from "../../../lib/doctor/orchestrator.ts";

/**
 * The orchestrator's own checks where the sandbox e2e does not reach: pages, errors, drifted
 * schedules, subscriptions gone after 48 hours, topics in the same or another account.
 */

const ORCHESTRATOR = "999999999999";
const BUILD = "555555555555";
const ALERTS = `arn:aws:sns:eu-west-1:${ORCHESTRATOR}:ami-orchestrator-prod-alerts`;
const BUILD_TOPIC = `arn:aws:sns:eu-central-1:${BUILD}:imagebuilder-notifications`;
const OWN_TOPIC = `arn:aws:sns:eu-west-1:${ORCHESTRATOR}:own-notifications`;
const ON_IMAGE_STATE = `arn:aws:lambda:eu-west-1:${ORCHESTRATOR}:function:ami-orchestrator-prod-on-image-state`;
const START_PIPELINES = `arn:aws:lambda:eu-west-1:${ORCHESTRATOR}:function:ami-orchestrator-prod-start-pipelines`;
const SCHEDULER_ROLE = `arn:aws:iam::${ORCHESTRATOR}:role/ami-orchestrator-prod-SchedulerInvokeRole-ABC`;

const deployment = orchestratorDeployment(
  `arn:aws:lambda:eu-west-1:${ORCHESTRATOR}:function:ami-orchestrator-prod-`,
  "prod",
);

const config = (extra = "") =>
  parseConfig(
    `
accounts:
  dev: { id: "111111111111", externalId: ext-dev-01, regions: [eu-west-1] }
pipelines:
  - name: base
    arn: arn:aws:imagebuilder:eu-central-1:${BUILD}:image-pipeline/base
    notificationTopicArn: ${BUILD_TOPIC}
    schedule: { cron: "0 3 ? * MON *", timezone: Europe/Paris }
  - name: web
    arn: arn:aws:imagebuilder:eu-west-1:${ORCHESTRATOR}:image-pipeline/web
    notificationTopicArn: ${OWN_TOPIC}
${extra}
`,
    "orchestrator.yml",
  );

const scheduler = mockClient(SchedulerClient);
const sns = mockClient(SNSClient);
const ssm = mockClient(SSMClient);

const run = (extra = "") =>
  checkOrchestratorDeployment({
    config: config(extra),
    deployment,
    alertsTopicArn: ALERTS,
    scheduler: new SchedulerClient({ region: "eu-west-1" }),
    sns: (region) => new SNSClient({ region }),
    ssm: new SSMClient({ region: "eu-west-1" }),
  });

const asDeployed = {
  Name: "ami-orchestrator-prod-base",
  GroupName: "default",
  State: "ENABLED" as const,
  ScheduleExpression: "cron(0 3 ? * MON *)",
  ScheduleExpressionTimezone: "Europe/Paris",
  FlexibleTimeWindow: { Mode: "OFF" as const },
  Target: {
    Arn: START_PIPELINES,
    RoleArn: SCHEDULER_ROLE,
    Input: JSON.stringify({ pipeline: "base", scheduledTime: "<aws.scheduler.scheduled-time>" }),
  },
};

const lambdaSubscription = (topicArn: string) => ({
  SubscriptionArn: `${topicArn}:0f2b7c1e-1111-4a5b-8c9d-000000000001`,
  Owner: ORCHESTRATOR,
  Protocol: "lambda",
  Endpoint: ON_IMAGE_STATE,
  TopicArn: topicArn,
});

const byName = async (extra = "") =>
  Object.fromEntries((await run(extra)).map((check) => [check.check, check]));

describe("the orchestrator's own deployment (lib/doctor/orchestrator.ts)", () => {
  beforeEach(() => {
    scheduler.reset();
    sns.reset();
    ssm.reset();
    scheduler.on(GetScheduleCommand).resolves(asDeployed);
    sns.on(ListSubscriptionsCommand).resolves({
      Subscriptions: [lambdaSubscription(BUILD_TOPIC), lambdaSubscription(OWN_TOPIC)],
    });
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [] });
  });

  it("a schedule as deployed passes; one edited by hand is named field by field, with the update-schedule that restores it", async () => {
    assert.equal((await byName())["schedule ami-orchestrator-prod-base"]?.ok, true);

    scheduler.on(GetScheduleCommand).resolves({
      ...asDeployed,
      ScheduleExpression: "cron(0 4 ? * MON *)",
      ScheduleExpressionTimezone: undefined,
      Target: { ...asDeployed.Target, Arn: `${START_PIPELINES}-old` },
    });
    const check = (await byName())["schedule ami-orchestrator-prod-base"];

    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? "", /expression is cron\(0 4 \? \* MON \*\), not cron\(0 3/);
    // No time zone set is UTC (API reference, CreateSchedule).
    assert.match(check?.detail ?? "", /time zone is UTC, not Europe\/Paris/);
    assert.match(check?.detail ?? "", /invokes \S+start-pipelines-old, not \S+start-pipelines$/);
    assert.equal(
      check?.fix,
      `aws scheduler update-schedule --region eu-west-1 --name ami-orchestrator-prod-base --schedule-expression 'cron(0 3 ? * MON *)' --schedule-expression-timezone Europe/Paris --flexible-time-window Mode=OFF --target '{"Arn":"${START_PIPELINES}","RoleArn":"${SCHEDULER_ROLE}","Input":"{\\"pipeline\\":\\"base\\",\\"scheduledTime\\":\\"<aws.scheduler.scheduled-time>\\"}"}' --state ENABLED --description 'Starts Image Builder pipeline base (ami-orchestrator)'`,
    );
    assert.deepEqual(scheduler.commandCalls(GetScheduleCommand)[0]?.args[0].input, {
      Name: "ami-orchestrator-prod-base",
    });
  });

  it("a schedule the config disables is expected DISABLED", async () => {
    scheduler.on(GetScheduleCommand).resolves({ ...asDeployed, State: "DISABLED" });
    const disabled = config().pipelines.map((pipeline) =>
      pipeline.schedule
        ? { ...pipeline, schedule: { ...pipeline.schedule, enabled: false } }
        : pipeline,
    );
    const checks = await checkOrchestratorDeployment({
      config: { ...config(), pipelines: disabled },
      deployment,
      alertsTopicArn: ALERTS,
      scheduler: new SchedulerClient({ region: "eu-west-1" }),
      sns: (region) => new SNSClient({ region }),
      ssm: new SSMClient({ region: "eu-west-1" }),
    });
    assert.equal(checks.find((check) => check.check.startsWith("schedule "))?.ok, true);
  });

  it("a schedule that does not exist: deploy, or recreate it when CloudFormation thinks it is there", async () => {
    scheduler.on(GetScheduleCommand).rejects(
      Object.assign(new Error("Schedule ami-orchestrator-prod-base does not exist."), {
        name: "ResourceNotFoundException",
      }),
    );
    const check = (await byName())["schedule ami-orchestrator-prod-base"];
    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? "", /base is never built on its cron/);
    assert.match(check?.fix ?? "", /^deploy the stage \(npx serverless deploy --stage prod/);
    // The role has a generated name, the stack resource's PhysicalResourceId (what Ref returns
    // for AWS::IAM::Role); Target.RoleArn needs its ARN, from GetRole.
    assert.match(check?.fix ?? "", /; if the stack is already up to date .*recreate it: ROLE_ARN=/);
    assert.equal(
      check?.fix?.slice(check.fix.indexOf("ROLE_ARN=")),
      `ROLE_ARN=$(aws iam get-role --role-name "$(aws cloudformation describe-stack-resource --region eu-west-1 --stack-name ami-orchestrator-prod --logical-resource-id SchedulerInvokeRole --query StackResourceDetail.PhysicalResourceId --output text)" --query Role.Arn --output text) && aws scheduler create-schedule --region eu-west-1 --name ami-orchestrator-prod-base --schedule-expression 'cron(0 3 ? * MON *)' --schedule-expression-timezone Europe/Paris --flexible-time-window Mode=OFF --target '{"Arn":"${START_PIPELINES}","RoleArn":"'"$ROLE_ARN"'","Input":"{\\"pipeline\\":\\"base\\",\\"scheduledTime\\":\\"<aws.scheduler.scheduled-time>\\"}"}' --state ENABLED --description 'Starts Image Builder pipeline base (ami-orchestrator)'`,
    );
  });

  it("the recreated schedule's target, as a POSIX shell passes it, is the JSON with the role's ARN", async () => {
    scheduler.on(GetScheduleCommand).rejects(
      Object.assign(new Error("Schedule ami-orchestrator-prod-base does not exist."), {
        name: "ResourceNotFoundException",
      }),
    );
    const fix = (await byName())["schedule ami-orchestrator-prod-base"]?.fix ?? "";
    const create = fix.slice(fix.indexOf("aws scheduler create-schedule"));
    // The shell prints the --target argument as aws would receive it, with ROLE_ARN set.
    const target = execFileSync(
      "sh",
      ["-c", `aws() { shift $(($# - 5)); printf %s "$1"; }; ROLE_ARN=${SCHEDULER_ROLE}; ${create}`],
      { encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(target), {
      Arn: START_PIPELINES,
      RoleArn: SCHEDULER_ROLE,
      Input: JSON.stringify({ pipeline: "base", scheduledTime: "<aws.scheduler.scheduled-time>" }),
    });
  });

  it("finds on-image-state's subscription on any page of ListSubscriptions, in the topic's region", async () => {
    sns
      .on(ListSubscriptionsCommand)
      .resolves({ Subscriptions: [lambdaSubscription(OWN_TOPIC)], NextToken: "page-2" })
      .on(ListSubscriptionsCommand, { NextToken: "page-2" })
      .resolves({ Subscriptions: [lambdaSubscription(BUILD_TOPIC)] });
    const checks = await byName();
    assert.equal(checks[`subscription ${BUILD_TOPIC} → on-image-state`]?.ok, true);
    const regions = await Promise.all(
      sns
        .commandCalls(ListSubscriptionsCommand)
        .map((call) => (call.thisValue as SNSClient).config.region()),
    );
    assert.deepEqual([...new Set(regions)].sort(), ["eu-central-1", "eu-west-1"]);
    // The build account's topic is never read through ListSubscriptionsByTopic.
    assert.ok(
      sns
        .commandCalls(ListSubscriptionsByTopicCommand)
        .every((call) => call.args[0].input.TopicArn === ALERTS),
    );
  });

  it("a missing subscription: deploy; to another account's topic, also the topic-policy statement that lets this account subscribe", async () => {
    sns.on(ListSubscriptionsCommand).resolves({
      Subscriptions: [{ ...lambdaSubscription(OWN_TOPIC), SubscriptionArn: "PendingConfirmation" }],
    });
    const checks = await byName();
    const build = checks[`subscription ${BUILD_TOPIC} → on-image-state`];
    assert.equal(build?.ok, false);
    assert.match(build?.detail ?? "", /is not subscribed/);
    assert.match(
      build?.fix ?? "",
      new RegExp(
        `add to the topic policy of ${BUILD_TOPIC} \\(account ${BUILD}\\): \\{"Sid":"AmiOrchestratorSubscribe${ORCHESTRATOR}","Effect":"Allow","Principal":\\{"AWS":"arn:aws:iam::${ORCHESTRATOR}:root"\\},"Action":"sns:Subscribe"`,
      ),
    );
    const own = checks[`subscription ${OWN_TOPIC} → on-image-state`];
    assert.equal(own?.ok, false);
    assert.match(own?.detail ?? "", /PendingConfirmation/);
    assert.doesNotMatch(own?.fix ?? "", /topic policy/);
  });

  it("a Deleted lambda subscription is reported deleted, with the subscribe that recreates it", async () => {
    sns.on(ListSubscriptionsCommand).resolves({
      Subscriptions: [
        lambdaSubscription(OWN_TOPIC),
        { ...lambdaSubscription(BUILD_TOPIC), SubscriptionArn: "Deleted" },
      ],
    });
    const check = (await byName())[`subscription ${BUILD_TOPIC} → on-image-state`];
    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? "", /was deleted \(SNS lists it as Deleted/);
    assert.doesNotMatch(check?.detail ?? "", /PendingConfirmation/);
    assert.match(
      check?.fix ?? "",
      new RegExp(
        `^with account ${ORCHESTRATOR}'s credentials: aws sns subscribe --region eu-central-1 --topic-arn ${BUILD_TOPIC} --protocol lambda --notification-endpoint ${ON_IMAGE_STATE}; if it fails with AuthorizationError, add to the topic policy`,
      ),
    );
  });

  it("ListSubscriptions refused: the permission to add is named", async () => {
    sns
      .on(ListSubscriptionsCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AuthorizationErrorException" }));
    const check = (await byName())[`subscription ${BUILD_TOPIC} → on-image-state`];
    assert.equal(check?.ok, false);
    assert.match(check?.fix ?? "", /allow sns:ListSubscriptions \(resource \*\)/);
  });

  it("alert emails: confirmed (whatever the case), pending, listed Deleted, and gone after 48 hours unconfirmed", async () => {
    sns.on(ListSubscriptionsByTopicCommand, { TopicArn: ALERTS }).resolves({
      Subscriptions: [
        {
          SubscriptionArn: `${ALERTS}:aaaa`,
          Protocol: "email",
          Endpoint: "Platform@Example.com",
          TopicArn: ALERTS,
        },
        {
          SubscriptionArn: "PendingConfirmation",
          Protocol: "email",
          Endpoint: "oncall@example.com",
          TopicArn: ALERTS,
        },
        {
          SubscriptionArn: "Deleted",
          Protocol: "email",
          Endpoint: "deleted@example.com",
          TopicArn: ALERTS,
        },
      ],
    });
    const checks = await byName(
      "notifications: { email: [platform@example.com, oncall@example.com, gone@example.com, deleted@example.com] }",
    );
    assert.equal(checks["alert email platform@example.com"]?.ok, true);
    const pending = checks["alert email oncall@example.com"];
    assert.equal(pending?.ok, false);
    assert.match(pending?.detail ?? "", /^PendingConfirmation/);
    assert.match(pending?.fix ?? "", /sent to oncall@example.com \(check the spam folder\)/);
    const gone = checks["alert email gone@example.com"];
    assert.match(gone?.detail ?? "", /no subscription .*48 hours/);
    assert.match(
      gone?.fix ?? "",
      new RegExp(
        `^aws sns subscribe --region eu-west-1 --topic-arn ${ALERTS} --protocol email --notification-endpoint gone@example\\.com`,
      ),
    );
    // Listed "Deleted", not an ARN: deleted, not pending; the topic's owner subscribes it again.
    const deleted = checks["alert email deleted@example.com"];
    assert.equal(deleted?.ok, false);
    assert.match(deleted?.detail ?? "", /^the subscription of deleted@example.com .* was deleted/);
    assert.match(
      deleted?.fix ?? "",
      new RegExp(
        `^with the credentials of account ${ORCHESTRATOR} \\(the topic's owner.*\\): aws sns subscribe --region eu-west-1 --topic-arn ${ALERTS} --protocol email --notification-endpoint deleted@example\\.com, then confirm`,
      ),
    );
  });

  it("no email, no Slack configured: nothing checked, nothing called", async () => {
    const checks = await run();
    assert.ok(checks.every((check) => !check.check.startsWith("alert email")));
    assert.ok(checks.every((check) => !check.check.startsWith("Slack")));
    assert.equal(sns.commandCalls(ListSubscriptionsByTopicCommand).length, 0);
    assert.equal(ssm.commandCalls(DescribeParametersCommand).length, 0);
  });

  it("the Slack parameter is found past empty best-effort pages, by its name only, never read", async () => {
    const name = "/ami-orchestrator/slack-webhook";
    ssm
      .on(DescribeParametersCommand)
      .resolvesOnce({ Parameters: [], NextToken: "more" })
      .resolvesOnce({ Parameters: [{ Name: name, Type: "SecureString" }] });
    const check = (await byName(`notifications: { slack: { webhookUrlParameter: ${name} } }`))[
      `Slack webhook parameter ${name}`
    ];
    assert.equal(check?.ok, true, check?.detail);
    const calls = ssm.commandCalls(DescribeParametersCommand);
    assert.equal(calls.length, 2);
    for (const call of calls)
      assert.deepEqual(call.args[0].input.ParameterFilters, [
        { Key: "Name", Option: "Equals", Values: [name] },
      ]);
    assert.equal(ssm.commandCalls(GetParameterCommand).length, 0);
  });

  it("a missing Slack parameter: the put-parameter to run, with a placeholder for the URL", async () => {
    const name = "/ami-orchestrator/slack-webhook";
    const check = (await byName(`notifications: { slack: { webhookUrlParameter: ${name} } }`))[
      `Slack webhook parameter ${name}`
    ];
    assert.equal(check?.ok, false);
    // Not --value: AWS CLI v1 would fetch an https:// value and store the page (aws/aws-cli#3076).
    assert.equal(
      check?.fix,
      `aws ssm put-parameter --region eu-west-1 --cli-input-json '{"Name":"${name}","Type":"SecureString","Value":"<the Slack incoming-webhook URL>"}'`,
    );
  });
});
