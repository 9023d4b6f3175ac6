import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallContext } from "../../../sandbox/model/faults.ts";
import { SandboxWorld } from "../../../sandbox/model/world.ts";

/** The sandbox's SNS subscriptions, SSM parameter metadata and Scheduler schedules, as AWS answers. */

const ORCHESTRATOR = "999999999999";
const BUILD = "555555555555";
const TOPIC = `arn:aws:sns:eu-central-1:${BUILD}:imagebuilder-notifications`;
const ALERTS = `arn:aws:sns:eu-west-1:${ORCHESTRATOR}:alerts`;

const world = () =>
  new SandboxWorld({
    start: "2026-11-23T10:00:00Z",
    orchestratorAccountId: ORCHESTRATOR,
    orchestratorRegion: "eu-west-1",
  });

const call = (
  sandbox: SandboxWorld,
  service: string,
  operation: string,
  input: Record<string, unknown> = {},
  where: { accountId?: string; region?: string } = {},
) =>
  sandbox.call({
    service,
    operation,
    accountId: where.accountId ?? ORCHESTRATOR,
    region: where.region ?? "eu-west-1",
    input: input as CallContext["input"],
  }) as Promise<Record<string, unknown>>;

describe("sandbox SNS subscriptions", () => {
  it("ListSubscriptions lists the caller's own subscriptions in the region called, whoever owns the topic", async () => {
    const sandbox = world();
    sandbox.sns.subscribe({
      topicArn: TOPIC,
      protocol: "lambda",
      endpoint: `arn:aws:lambda:eu-west-1:${ORCHESTRATOR}:function:on-image-state`,
      owner: ORCHESTRATOR,
    });
    const listed = (region: string, accountId = ORCHESTRATOR) =>
      call(sandbox, "sns", "ListSubscriptions", {}, { region, accountId }).then(
        (output) => output.Subscriptions as Array<{ SubscriptionArn: string }>,
      );
    const [own] = await listed("eu-central-1");
    assert.match(own?.SubscriptionArn ?? "", new RegExp(`^${TOPIC}:[\\w-]+$`));
    assert.deepEqual(await listed("eu-west-1"), []);
    // The topic's owner did not make it: not in its own list.
    assert.deepEqual(await listed("eu-central-1", BUILD), []);
  });

  it("an email subscription is listed PendingConfirmation until confirmed; an unknown topic is NotFound", async () => {
    const sandbox = world();
    sandbox.sns.createTopic(ALERTS);
    sandbox.sns.subscribe({
      topicArn: ALERTS,
      protocol: "email",
      endpoint: "oncall@example.com",
      owner: ORCHESTRATOR,
    });
    const arnOf = async () =>
      (
        (await call(sandbox, "sns", "ListSubscriptionsByTopic", { TopicArn: ALERTS }))
          .Subscriptions as Array<{ SubscriptionArn: string }>
      )[0]?.SubscriptionArn;
    assert.equal(await arnOf(), "PendingConfirmation");
    sandbox.sns.confirm(ALERTS, "oncall@example.com");
    assert.match((await arnOf()) ?? "", new RegExp(`^${ALERTS}:`));
    await assert.rejects(
      call(sandbox, "sns", "ListSubscriptionsByTopic", { TopicArn: `${ALERTS}-gone` }),
      { name: "NotFoundException" },
    );
  });

  it("pages by 100 with a NextToken", async () => {
    const sandbox = world();
    sandbox.sns.createTopic(ALERTS);
    for (let index = 0; index < 150; index += 1)
      sandbox.sns.subscribe({
        topicArn: ALERTS,
        protocol: "email",
        endpoint: `team-${index}@example.com`,
        owner: ORCHESTRATOR,
      });
    const first = await call(sandbox, "sns", "ListSubscriptionsByTopic", { TopicArn: ALERTS });
    assert.equal((first.Subscriptions as unknown[]).length, 100);
    const second = await call(sandbox, "sns", "ListSubscriptionsByTopic", {
      TopicArn: ALERTS,
      NextToken: first.NextToken,
    });
    assert.equal((second.Subscriptions as unknown[]).length, 50);
    assert.equal(second.NextToken, undefined);
  });
});

describe("sandbox SSM DescribeParameters", () => {
  it("finds a parameter by name in the caller's account and region, metadata only, never its value", async () => {
    const sandbox = world();
    sandbox.ssm.put(ORCHESTRATOR, "eu-west-1", "/app/slack", "https://hooks.example/secret");
    sandbox.ssm.put(ORCHESTRATOR, "eu-west-1", "/app/slack-old", "https://hooks.example/old");
    const filters = {
      ParameterFilters: [{ Key: "Name", Option: "Equals", Values: ["/app/slack"] }],
    };
    const output = await call(sandbox, "ssm", "DescribeParameters", filters);
    assert.deepEqual(
      (output.Parameters as Array<{ Name: string }>).map((parameter) => parameter.Name),
      ["/app/slack"],
    );
    assert.ok(!JSON.stringify(output).includes("hooks.example"));
    const elsewhere = await call(sandbox, "ssm", "DescribeParameters", filters, {
      region: "eu-west-3",
    });
    assert.deepEqual(elsewhere.Parameters, []);
  });
});

describe("sandbox EventBridge Scheduler", () => {
  it("GetSchedule reads the default group unless told otherwise; a missing schedule is ResourceNotFoundException", async () => {
    const sandbox = world();
    sandbox.scheduler.put({
      accountId: ORCHESTRATOR,
      region: "eu-west-1",
      groupName: "default",
      name: "nightly",
      state: "ENABLED",
      scheduleExpression: "cron(0 3 * * ? *)",
      flexibleTimeWindow: { Mode: "OFF" },
      target: {
        Arn: "arn:aws:lambda:eu-west-1:999999999999:function:f",
        RoleArn: "arn:aws:iam::999999999999:role/r",
      },
    });
    const schedule = await call(sandbox, "scheduler", "GetSchedule", { Name: "nightly" });
    assert.equal(
      schedule.Arn,
      `arn:aws:scheduler:eu-west-1:${ORCHESTRATOR}:schedule/default/nightly`,
    );
    assert.equal(schedule.ScheduleExpressionTimezone, undefined);
    await assert.rejects(
      call(sandbox, "scheduler", "GetSchedule", { Name: "nightly", GroupName: "other" }),
      { name: "ResourceNotFoundException" },
    );
  });
});
