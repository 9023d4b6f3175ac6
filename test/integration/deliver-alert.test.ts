import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { AlertDeliveryError, deliverAlert } from "../../lib/alerts/deliver.ts";
import type { Alert } from "../../lib/alerts/types.ts";
import { SlackReceiver } from "../../sandbox/slack-receiver.ts";
import { type LocalDynamo, startDynamo } from "../helpers/dynalite.ts";

const sns = mockClient(SNSClient);
const TOPIC = "arn:aws:sns:eu-west-1:999999999999:alerts";
let build = 0;
const failedBuild = (): Alert => {
  build += 1;
  return {
    kind: "build-failed",
    imageArn: `arn:aws:imagebuilder:eu-west-1:999999999999:image/web/2.0.3/${build}`,
    pipeline: "web",
    reason: "Step 'Build' failed",
  };
};

describe("delivering alerts to Slack and email, once", () => {
  let dynamo: LocalDynamo;
  let slack: SlackReceiver;
  let slackUrl: string | undefined;
  const deps = () => ({
    db: dynamo.db,
    table: dynamo.table,
    sns: new SNSClient({ region: "eu-west-1" }),
    topicArn: TOPIC,
    slackWebhookUrl: async () => slackUrl,
    clock: { now: () => Date.now() },
    slack: { sleep: async () => undefined, maxAttempts: 2, timeoutMs: 300 },
  });

  before(async () => {
    dynamo = await startDynamo();
    slack = await new SlackReceiver().start();
  });
  after(async () => {
    await slack.close();
    await dynamo.close();
  });
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    slackUrl = slack.url;
  });

  it("posts to Slack and publishes the email", async () => {
    const before = slack.messages.length;
    const outcome = await deliverAlert(failedBuild(), deps());
    assert.deepEqual(
      [outcome.outcome, outcome.slack, outcome.email],
      ["delivered", "sent", "sent"],
    );
    assert.equal(slack.messages.length, before + 1);
    const email = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    assert.equal(email?.TopicArn, TOPIC);
    assert.equal(email?.Subject, "[ami-orchestrator] Image build failed: web");
  });

  it("a duplicate notification of the same failure posts nothing", async () => {
    const alert = failedBuild();
    await deliverAlert(alert, deps());
    const before = slack.messages.length;
    sns.resetHistory();

    const again = await deliverAlert(alert, deps());

    assert.equal(again.outcome, "duplicate");
    assert.equal(slack.messages.length, before);
    assert.equal(sns.commandCalls(PublishCommand).length, 0);
  });

  it("concurrent deliveries of one alert post once", async () => {
    const alert = failedBuild();
    const before = slack.messages.length;
    const outcomes = await Promise.all([deliverAlert(alert, deps()), deliverAlert(alert, deps())]);
    assert.deepEqual(outcomes.map((outcome) => outcome.outcome).sort(), ["delivered", "in-flight"]);
    assert.equal(slack.messages.length, before + 1);
  });

  it("a Slack outage never loses the email; the retry posts to Slack only", async () => {
    const alert = failedBuild();
    slack.script({ status: 500 }, { status: 500 });

    await assert.rejects(deliverAlert(alert, deps()), (error: unknown) => {
      assert.ok(error instanceof AlertDeliveryError && error.retryable);
      assert.match(error.message, /slack: HTTP 500/);
      return true;
    });
    assert.equal(sns.commandCalls(PublishCommand).length, 1, "the email went out");

    const before = slack.messages.length;
    const retry = await deliverAlert(alert, deps());
    assert.deepEqual([retry.slack, retry.email], ["sent", "already-sent"]);
    assert.equal(slack.messages.length, before + 1);
    assert.equal(sns.commandCalls(PublishCommand).length, 1, "the email was not sent twice");
  });

  it("without a Slack webhook configured, email alone delivers the alert", async () => {
    slackUrl = undefined;
    const outcome = await deliverAlert(failedBuild(), deps());
    assert.deepEqual([outcome.slack, outcome.email], ["not-configured", "sent"]);
  });
});
