import assert from "node:assert/strict";
import { accessDenied, THROTTLING } from "../../sandbox/model/faults.ts";
import {
  defineFaultSuite,
  type Row,
  type SnsEventShape,
  UNAVAILABLE,
} from "../helpers/fault-suite.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

/** Rewrites the Image Builder message of an SNS event, as whoever can publish to the topic could. */
const forgeMessage = (
  event: SnsEventShape,
  change: (message: Record<string, unknown>) => void,
): void => {
  for (const record of event.Records) {
    const message = JSON.parse(record.Sns.Message);
    change(message);
    record.Sns.Message = JSON.stringify(message);
  }
};
/** One attacker AMI per AMI the genuine message lists, same accounts and regions. */
const attackerAmis = (message: Record<string, unknown>) =>
  ((message.outputResources as { amis: Array<Record<string, unknown>> }).amis ?? []).map(
    (ami, index) => ({ ...ami, image: `ami-0badbad${String(index).padStart(10, "0")}` }),
  );

defineFaultSuite(
  "fault injection: every fault has an outcome, nothing is lost or done twice",
  3,
  (ACCOUNTS): Row[] => [
    {
      fault: "no fault (baseline)",
      inject: () => undefined,
      expect: "succeeded",
      check: (state) => assert.equal(state.groups.length, 12),
    },
    {
      // Our clock says the cached sessions have most of their hour left; AWS's says they ended.
      fault: "assumed credentials expire mid-rollout",
      inject: ({ world }) => {
        world.clock.after(3 * 60_000, () => world.sts.expireSessions());
        return undefined;
      },
      expect: "succeeded",
      check: (_, { world }) =>
        assert.ok(
          world.calls.some((call) => /^(ExpiredToken|RequestExpired)/.test(call.error ?? "")),
          "expired credentials were refused, then replaced",
        ),
    },
    {
      fault: "throttling on every service",
      inject: ({ world }) =>
        ["sts", "autoscaling", "ec2", "kms", "sqs"].map((service) =>
          world.faults.add({ service, error: THROTTLING, times: 2 }),
        ),
      expect: "succeeded",
      check: (_, { world }) =>
        assert.ok(world.faults.injected.some((call) => call.error === "ThrottlingException")),
    },
    {
      fault: "AccessDenied on AssumeRole in one account",
      inject: ({ world }) => [
        world.faults.add({
          service: "sts",
          operation: "AssumeRole",
          when: (call) => String(call.input.RoleArn).includes(ACCOUNTS[1]?.id ?? ""),
          error: accessDenied("sts:AssumeRole"),
        }),
      ],
      expect: "failed",
      check: (state, { slack }) => {
        const done = state.targets.filter((target) => target.status === "refreshing");
        assert.equal(done.length, 4, "the other accounts completed");
        const alert = JSON.stringify(slack.messages.at(-1));
        assert.match(alert, new RegExp(`${ACCOUNTS[1]?.id}.*cannot assume`));
      },
    },
    {
      fault: "an outage between two steps (invocation fails, message redelivered)",
      inject: ({ world }) => [
        world.faults.add({
          service: "ec2",
          operation: "CreateLaunchTemplateVersion",
          error: UNAVAILABLE,
          times: 5,
        }),
      ],
      expect: "succeeded",
      check: (state) =>
        assert.ok(state.targets.every((target) => (target.grants?.length ?? 0) === 1)),
    },
    {
      fault: "InstanceRefreshInProgress (another team's refresh)",
      inject: ({ world }) => [
        world.faults.add({
          service: "autoscaling",
          operation: "StartInstanceRefresh",
          error: { name: "InstanceRefreshInProgressFault", message: "in progress" },
          times: 2,
        }),
        world.faults.add({
          service: "autoscaling",
          operation: "DescribeInstanceRefreshes",
          when: () => false,
          error: UNAVAILABLE,
        }),
      ],
      expect: "succeeded",
    },
    {
      fault: "KMS grant slower to propagate than configured (first launch fails, retry succeeds)",
      inject: ({ world }) => {
        world.kms.propagationMs = 4 * 60_000;
        world.kms.grants.length = 0;
        return [];
      },
      expect: "succeeded",
      check: (state, { world }) => {
        world.kms.propagationMs = 60_000;
        const retried = state.groups.filter((group) => group.grantRetried);
        assert.ok(retried.length > 0, "some groups needed their one retry");
        assert.ok(
          world.autoScaling.refreshes.some((refresh) => refresh.status === "RollbackSuccessful"),
        );
      },
    },
    {
      fault: "duplicate SNS deliveries (3×)",
      inject: () => undefined,
      deliveries: 3,
      expect: "succeeded",
    },
    {
      fault: "concurrent duplicate notifications (DynamoDB conditional-write race)",
      inject: () => undefined,
      concurrentDeliveries: 3,
      expect: "succeeded",
    },
    {
      fault: "every SQS message delivered twice (at-least-once)",
      inject: ({ world }) => {
        const send = world.sqs.operations.SendMessageBatch;
        world.register("sqs", {
          SendMessageBatch: (call) => {
            send(call);
            return send(call);
          },
        });
        return [];
      },
      restore: ({ world }) =>
        world.register("sqs", { SendMessageBatch: world.sqs.operations.SendMessageBatch }),
      expect: "succeeded",
    },
    {
      fault: "duplicated and lost refresh events",
      inject: ({ lambda }) => {
        let count = 0;
        lambda.refreshEventFate = () => (count++ % 2 === 0 ? "duplicated" : "lost");
        return [];
      },
      expect: "succeeded",
      check: (_, { lambda }) => {
        lambda.refreshEventFate = () => "delivered";
      },
    },
    {
      fault: "poison messages (not JSON, bad account id) beside the rollout's own",
      inject: () => undefined,
      poison: [
        "roll it out",
        JSON.stringify({
          rolloutId: "forged",
          pipeline: "golden",
          imageArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/9.9.9/1",
          wave: "all",
          waveIndex: 0,
          account: "team00",
          accountId: "not-an-account",
          region: "eu-west-1",
          amiId: "ami-0123456789abcdef0",
        }),
      ],
      expect: "succeeded",
    },
    {
      fault: "forged notification (attacker's AMI list, another account's image, an unknown topic)",
      inject: () => undefined,
      forged: [
        // The new image's own ARN with the attacker's AMIs: GetImage's outputs are used instead.
        (event) =>
          forgeMessage(event, (message) => {
            message.outputResources = { amis: attackerAmis(message) };
          }),
        // An image in another account, claiming the configured pipeline: rejected unread.
        (event) =>
          forgeMessage(event, (message) => {
            message.arn = String(message.arn).replace(":999999999999:", ":666666666666:");
            message.outputResources = { amis: attackerAmis(message) };
          }),
        // A topic no pipeline configures: rejected unread.
        (event) => {
          for (const record of event.Records)
            record.Sns.TopicArn = "arn:aws:sns:eu-west-1:666666666666:imagebuilder-notifications";
        },
      ],
      expect: "succeeded",
      check: (state, { lambda }) => {
        const rejected = lambda.failedEvents.filter(
          (failed) =>
            failed.functionName === "on-image-state" &&
            /image notification rejected \((image-outside-pipeline-scope|unconfigured-topic)\)/.test(
              failed.error.message,
            ),
        );
        assert.equal(
          rejected.length,
          2,
          "two forgeries rejected into the failed-events destination",
        );
        assert.ok(state.targets.every((target) => !target.amiId.startsWith("ami-0badbad")));
        lambda.failedEvents.length = 0;
      },
    },
    {
      fault: "Slack rate-limited, then down",
      inject: ({ slack, world }) => {
        slack.script(
          { status: 429, headers: { "retry-after": "1" } },
          { status: 500 },
          { status: 500 },
          { status: 500 },
          { status: 500 },
        );
        return [
          world.faults.add({
            service: "sts",
            operation: "AssumeRole",
            when: (call) => String(call.input.RoleArn).includes(ACCOUNTS[2]?.id ?? ""),
            error: accessDenied("sts:AssumeRole"),
            times: 3,
          }),
        ];
      },
      expect: "failed",
      check: (state, { world }) => {
        const emails = world.sns.published.filter((email) =>
          email.message.includes(state.record.rolloutId),
        );
        assert.equal(emails.length, 1, "the email went out once despite Slack");
      },
    },
  ],
);
