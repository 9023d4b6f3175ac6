import assert from "node:assert/strict";
import { before, beforeEach, describe, it } from "node:test";
import { PublishCommand } from "@aws-sdk/client-sns";
import { AlertDeliveryError, deliverAlert } from "../../lib/alerts/deliver.ts";
import type { Alert } from "../../lib/alerts/types.ts";
import type { SlackReceiver } from "../../sandbox/slack-receiver.ts";
import { ALERTS_TOPIC, alertDeliverySuite } from "../helpers/alert-delivery.ts";

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
  const delivery = alertDeliverySuite({ maxAttempts: 2, timeoutMs: 300 });
  const { sns } = delivery;
  let slack: SlackReceiver;
  let slackUrl: string | undefined;
  const deps = () => delivery.deps({ slackWebhookUrl: async () => slackUrl });

  before(() => {
    slack = delivery.slack;
  });
  beforeEach(() => {
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
    assert.equal(email?.TopicArn, ALERTS_TOPIC);
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
