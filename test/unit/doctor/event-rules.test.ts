import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListRuleNamesByTargetCommand,
} from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { parseConfig } from "../../../lib/config/load.ts";
import {
  IMAGE_STATE_PATTERN,
  INSTANCE_REFRESH_PATTERN,
  LAUNCH_UNSUCCESSFUL_PATTERN,
  PIPELINE_AUTO_DISABLED_PATTERN,
} from "../../../lib/deployment/index.ts";
import { orchestratorDeployment } from "../../../lib/doctor/deployment.ts";
import { checkEventRules, checkForwarding } from "../../../lib/doctor/event-rules.ts";

/**
 * The doctor's EventBridge checks on rule states: RuleState has two enabled values (events API
 * model): ENABLED, and ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, which matches everything
 * ENABLED does and AWS management events from CloudTrail besides.
 */

const ORCHESTRATOR = "999999999999";
const deployment = orchestratorDeployment(
  `arn:aws:lambda:eu-west-1:${ORCHESTRATOR}:function:ami-orchestrator-prod-`,
  "prod",
);
const account = parseConfig(
  `
accounts:
  dev: { id: "111111111111", externalId: ext-dev-01, regions: [eu-west-1] }
pipelines:
  - name: base
    arn: arn:aws:imagebuilder:eu-west-1:${ORCHESTRATOR}:image-pipeline/base
`,
  "orchestrator.yml",
).accounts.dev;
if (!account) throw new Error("the config has account dev");

const events = mockClient(EventBridgeClient);

/** Rules by target ARN, each described with its state and pattern or schedule. */
const givenRules = (
  rules: ReadonlyArray<{
    target: string;
    name: string;
    state: string;
    pattern?: unknown;
    schedule?: string;
  }>,
) => {
  events.reset();
  events.on(ListRuleNamesByTargetCommand).resolves({ RuleNames: [] });
  for (const target of new Set(rules.map((rule) => rule.target)))
    events
      .on(ListRuleNamesByTargetCommand, { TargetArn: target })
      .resolves({ RuleNames: rules.filter((r) => r.target === target).map((r) => r.name) });
  for (const rule of rules)
    events.on(DescribeRuleCommand, { Name: rule.name }).resolves({
      Name: rule.name,
      State: rule.state as "ENABLED",
      ...(rule.pattern ? { EventPattern: JSON.stringify(rule.pattern) } : {}),
      ...(rule.schedule ? { ScheduleExpression: rule.schedule } : {}),
    });
};

const orchestratorRules = (state: string) => [
  {
    target: deployment.functionArn("on-image-state"),
    name: "image-state",
    state,
    pattern: IMAGE_STATE_PATTERN,
  },
  {
    target: deployment.functionArn("on-image-state"),
    name: "pipeline-disabled",
    state,
    pattern: PIPELINE_AUTO_DISABLED_PATTERN,
  },
  {
    target: deployment.functionArn("watch-rollouts"),
    name: "refreshes",
    state,
    pattern: INSTANCE_REFRESH_PATTERN,
  },
  {
    target: deployment.functionArn("watch-rollouts"),
    name: "poll",
    state,
    schedule: "rate(5 minutes)",
  },
  {
    target: deployment.functionArn("explain-launch-failure"),
    name: "launch-failures",
    state,
    pattern: LAUNCH_UNSUCCESSFUL_PATTERN,
  },
];

describe("rule states (lib/doctor/event-rules.ts)", () => {
  beforeEach(() => events.reset());

  it("a forwarding rule ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS forwards: it passes, no enable-rule", async () => {
    givenRules([
      {
        target: deployment.busArn,
        name: "forward",
        state: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
        pattern: {
          source: ["aws.autoscaling"],
          "detail-type": [
            ...INSTANCE_REFRESH_PATTERN["detail-type"],
            ...LAUNCH_UNSUCCESSFUL_PATTERN["detail-type"],
          ],
        },
      },
    ]);
    const check = await checkForwarding(
      new EventBridgeClient({ region: "eu-west-1" }),
      { alias: "dev", account, region: "eu-west-1" },
      deployment,
    );
    assert.equal(check.ok, true, check.detail);
    assert.equal(check.detail, `forward → ${deployment.busArn}`);
  });

  it("the orchestrator's rules ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS pass, named with their state", async () => {
    givenRules(orchestratorRules("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"));
    const checks = await checkEventRules(
      new EventBridgeClient({ region: "eu-west-1" }),
      deployment,
    );
    assert.equal(checks.length, 5);
    for (const check of checks) {
      assert.equal(check.ok, true, `${check.check}: ${check.detail}`);
      assert.match(check.detail, / ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS/);
    }
  });

  it("DISABLED rules still fail, with the enable-rule to run", async () => {
    givenRules(orchestratorRules("DISABLED"));
    const checks = await checkEventRules(
      new EventBridgeClient({ region: "eu-west-1" }),
      deployment,
    );
    const poll = checks.find((check) => check.check === "rule watch-rollouts: the poll schedule");
    assert.equal(poll?.ok, false);
    assert.equal(poll?.fix, "aws events enable-rule --region eu-west-1 --name poll");
  });

  it("no forwarding rule: the forwarding-only deploy, or the template's rule put back where its stack lost it", async () => {
    givenRules([]);
    const check = await checkForwarding(
      new EventBridgeClient({ region: "eu-west-3" }),
      { alias: "dev", account, region: "eu-west-3" },
      deployment,
    );
    assert.equal(check.ok, false);
    assert.match(
      check.fix ?? "",
      /^with account 111111111111's credentials: aws cloudformation deploy --stack-name ami-orchestrator-events --region eu-west-3 .*Component=forwarding-only/,
    );
    // The rule as the template makes it: every forwarded detail-type, to the bus, via its role.
    const putRule =
      /aws events put-rule --region eu-west-3 --name (\S+) --event-pattern '([^']+)'/.exec(
        check.fix ?? "",
      );
    assert.deepEqual(JSON.parse(putRule?.[2] ?? "{}"), {
      source: ["aws.autoscaling"],
      "detail-type": [
        ...INSTANCE_REFRESH_PATTERN["detail-type"],
        ...LAUNCH_UNSUCCESSFUL_PATTERN["detail-type"],
      ],
    });
    const putTargets =
      /aws events put-targets --region eu-west-3 --rule (\S+) --targets '([^']+)'/.exec(
        check.fix ?? "",
      );
    assert.equal(putTargets?.[1], putRule?.[1]);
    assert.deepEqual(JSON.parse(putTargets?.[2] ?? "[]"), [
      {
        Id: "ami-orchestrator",
        Arn: deployment.busArn,
        RoleArn: "arn:aws:iam::111111111111:role/ami-orchestrator-target-events-eu-west-3",
      },
    ]);
  });
});
