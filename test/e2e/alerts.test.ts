import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const WEB = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/web-ubuntu2404";

type SlackMessage = {
  text: string;
  blocks: Array<{
    type: string;
    text?: { text: string };
    fields?: Array<{ text: string }>;
    elements?: Array<{ text: { text: string }; url: string }>;
  }>;
};

/** Failure alerts end to end: real handlers, Slack on a loopback server, email captured from SNS. */
describe("failure alerts in the sandbox", () => {
  const sandbox = sandboxSuite(undefined, {
    start: "2026-11-23T01:59:00Z",
    disabledPipelines: ["web-ubuntu2404"],
  });
  const slackMessages = () => sandbox.session.slack.messages as SlackMessage[];
  const emails = () => sandbox.session.world.sns.published;

  const tick = (pipeline: string, at: string) => {
    sandbox.session.world.clock.advanceTo(at);
    return sandbox.session.handlers.startPipelines(
      { pipeline, scheduledTime: at },
      fakeContext("start-pipelines"),
    );
  };

  it("a schedule firing on a disabled pipeline alerts Slack and email", async () => {
    await tick("web-ubuntu2404", "2026-11-23T02:30:00.000Z");
    await sandbox.session.lambda.run(sandbox.session.world.clock.now() + 60_000);

    const [message] = slackMessages();
    assert.equal(message?.blocks[0]?.text?.text, ":red_circle: Pipeline disabled: web-ubuntu2404");
    assert.match(message?.blocks[2]?.text?.text ?? "", /found the pipeline DISABLED/);
    const [email] = emails();
    assert.equal(email?.subject, "[ami-orchestrator] Pipeline disabled: web-ubuntu2404");
    assert.match(email?.topicArn ?? "", /alerts$/);
  });

  it("a failed build: the failing step, the reason and the redacted log tail, with console links", async () => {
    const { world } = sandbox.session;
    const pipeline = world.imageBuilder.pipelines.get(WEB);
    assert.ok(pipeline);
    pipeline.status = "ENABLED";
    world.imageBuilder.failNextBuild(WEB, {
      step: "TESTING",
      failedStep: "ValidateBuild",
      reason:
        "Image Build Failure: Step 'ValidateBuild' failed with exception: Component 'hardening-cis' exited with code 1",
      logLines: [
        "Stdout: Running CIS benchmark level 1",
        "Stdout: export DB_PASSWORD=hunter2",
        "Stdout: FAIL 5.2.8 Ensure SSH root login is disabled",
        "Stderr: hardening-cis exited with code 1",
      ],
    });
    const before = slackMessages().length;
    await tick("web-ubuntu2404", "2026-11-24T07:30:00.000Z");
    await sandbox.session.lambda.run(world.clock.now() + 60 * 60_000);

    const message = slackMessages()[before];
    assert.ok(message, "a Slack message arrived");
    assert.equal(message.blocks[0]?.text?.text, ":red_circle: Image build failed: web-ubuntu2404");
    const facts = message.blocks[1]?.fields?.map((field) => field.text);
    assert.deepEqual(facts, [
      "*Pipeline*\nweb-ubuntu2404",
      "*Image*\nweb-ubuntu2404/1.0.0/1",
      "*Account / region*\n999999999999 / eu-west-1",
      "*Failed step*\nValidateBuild",
    ]);
    const text = JSON.stringify(message);
    assert.match(text, /Component 'hardening-cis' exited with code 1/);
    assert.match(text, /FAIL 5\.2\.8 Ensure SSH root login is disabled/);
    assert.match(text, /DB_PASSWORD=\*\*\*\*/);
    assert.ok(!text.includes("hunter2"), "no secret reaches Slack");
    const buttons = message.blocks.at(-1)?.elements?.map((button) => button.text.text);
    assert.deepEqual(buttons, ["Image", "Build log", "Pipeline"]);

    const email = emails().at(-1);
    assert.equal(email?.subject, "[ami-orchestrator] Image build failed: web-ubuntu2404");
    assert.match(email?.message ?? "", /Failed step: +ValidateBuild/);
    assert.match(email?.message ?? "", /Last lines of the build log:\n {2}Stdout: Running CIS/);
    assert.ok(!(email?.message ?? "").includes("hunter2"));
  });

  it("a duplicate notification of the same failed build posts nothing more", async () => {
    const { world, lambda, handlers } = sandbox.session;
    const [image] = world.imageBuilder.imagesOf(WEB);
    assert.ok(image);
    const slackBefore = slackMessages().length;
    const emailsBefore = emails().length;

    await lambda.invokeAsync("on-image-state", handlers.onImageState, lambda.snsEvent(image));
    await lambda.run(world.clock.now() + 60_000);

    assert.equal(slackMessages().length, slackBefore);
    assert.equal(emails().length, emailsBefore);
  });

  it("when Slack is down the email still goes out, and Slack gets the alert once it recovers", async () => {
    const { world, slack } = sandbox.session;
    world.imageBuilder.failNextBuild(WEB, {
      step: "BUILDING",
      failedStep: "Build",
      reason: "Step 'Build' failed",
    });
    // Down for every attempt of the first delivery (4 attempts).
    slack.script({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    const slackBefore = slackMessages().length;
    const emailsBefore = emails().length;

    await tick("web-ubuntu2404", "2026-11-25T07:30:00.000Z");
    await sandbox.session.lambda.run(world.clock.now() + 40 * 60_000);
    assert.equal(emails().length, emailsBefore + 1, "email delivered during the Slack outage");

    await sandbox.session.lambda.run(world.clock.now() + 10 * 60_000);
    assert.equal(slackMessages().length, slackBefore + 1, "Slack posted after it recovered");
    assert.equal(emails().length, emailsBefore + 1, "the email was not sent twice");
    assert.equal(world.queues.alertsDeadLetter.messages.length, 0);
  });
});
