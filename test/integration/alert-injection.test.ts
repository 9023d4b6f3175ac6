import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { PublishCommand } from "@aws-sdk/client-sns";
import { deliverAlert } from "../../lib/alerts/deliver.ts";
import { EMAIL_MAX } from "../../lib/alerts/render.ts";
import type { Alert, BuildDiagnosis } from "../../lib/alerts/types.ts";
import type { SlackReceiver } from "../../sandbox/slack-receiver.ts";
import { alertDeliverySuite } from "../helpers/alert-delivery.ts";

/**
 * Hostile text in an alert (a failure reason, a step message, a build log line: all written by
 * whoever controls the recipe) delivered end to end: to the loopback Slack receiver, which
 * refuses what Slack refuses, and to the email topic.
 */
let build = 0;
const failedBuild = (reason: string, diagnosis: BuildDiagnosis = {}): Alert => {
  build += 1;
  return {
    kind: "build-failed",
    imageArn: `arn:aws:imagebuilder:eu-west-1:999999999999:image/web/2.0.3/${build}`,
    pipeline: "web",
    reason,
    diagnosis,
  };
};

type Message = { text: string; blocks: Array<{ type: string; text?: { text: string } }> };

/** Every text Slack displays: the fallback, headers, sections, fields and buttons (not URLs). */
const textsOf = (value: unknown): string[] => {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(textsOf);
  if (value && typeof value === "object")
    return Object.entries(value)
      .filter(([key]) => key !== "url")
      .flatMap(([, item]) => textsOf(item));
  return [];
};

describe("hostile alert text, delivered to Slack (loopback) and email", () => {
  const delivery = alertDeliverySuite({ maxAttempts: 1, timeoutMs: 1000 });
  const { sns } = delivery;
  let slack: SlackReceiver;
  const deps = () => delivery.deps();
  const deliver = async (alert: Alert) => {
    sns.resetHistory();
    const before = slack.messages.length;
    await deliverAlert(alert, deps());
    assert.equal(slack.rejected.length, 0, JSON.stringify(slack.rejected[0]?.problem));
    assert.equal(slack.messages.length, before + 1);
    const email = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    return {
      slack: slack.messages.at(-1) as Message,
      subject: email?.Subject ?? "",
      body: email?.Message ?? "",
    };
  };

  before(() => {
    slack = delivery.slack;
  });

  it("secrets in the failure reason, step message and log reach neither channel", async () => {
    const out = await deliver(
      failedBuild("Step failed: aws_secret=abc123XYZ password=hunter2", {
        reason: 'Component failed: {"password": "hunter2"} AKIAIOSFODNN7EXAMPLE',
        failedStep: "Build",
        stepMessage: "token xoxb-123456789012-1234567890123-AbCdEfGh",
        logExcerpt: [
          "-----BEGIN RSA PRIVATE KEY-----",
          "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi2d4bZxYzQ9Fj8zKsl2fG5hV7e",
          "-----END RSA PRIVATE KEY-----",
          "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ],
      }),
    );
    const everything = [JSON.stringify(out.slack), out.subject, out.body].join("\n");
    for (const secret of [
      "abc123XYZ",
      "hunter2",
      "IOSFODNN7EXAMPLE",
      "AbCdEfGh",
      "MIIEpAIBAAKCAQEA",
      "wJalrXUtnFEMI",
    ]) {
      assert.ok(!everything.includes(secret), `${secret} leaked`);
    }
    assert.match(out.body, /\[private key redacted\]/);
  });

  it("a single 50 KB log line: Slack keeps the excerpt, the email stays small", async () => {
    const out = await deliver(
      failedBuild("Step 'Build' failed", {
        logExcerpt: ["Running build", "x".repeat(50_000), "exit status 1"],
      }),
    );
    const log = out.slack.blocks.find((block) => block.text?.text.startsWith("```"));
    assert.match(log?.text?.text ?? "", /^```Running build\nx+…\nexit status 1```$/);
    assert.ok(out.body.length <= EMAIL_MAX, `email of ${out.body.length} characters`);
    assert.match(out.body, /exit status 1/);
  });

  it("``` inside a log line cannot close the code block", async () => {
    const out = await deliver(
      failedBuild("Step 'Build' failed", {
        logExcerpt: ["echo ```", "*bold* <!channel> after the fence", "done"],
      }),
    );
    const log = out.slack.blocks.find((block) => block.text?.text.startsWith("```"));
    const text = log?.text?.text ?? "";
    assert.equal(text.match(/```/g)?.length, 2, text);
    assert.ok(text.startsWith("```") && text.endsWith("```"));
    assert.match(text, /&lt;!channel&gt;/);
  });

  it("ANSI escapes and control characters reach neither channel", async () => {
    const out = await deliver(
      failedBuild("\u001b[31mStep failed\u001b[0m\u0007 \u001b]0;pwned\u0007ok\u202e", {
        logExcerpt: ["\u001b[1;31mERROR\u001b[0m: disk full\r", "bell\u0007 null\u0000 end"],
      }),
    );
    const everything = [JSON.stringify(out.slack), out.subject, out.body].join("\n");
    // JSON shows a control character as \u00XX (or \r, \b, \f, \t); the email is raw text.
    assert.doesNotMatch(JSON.stringify(out.slack), /\\u00|\\[rbft]|\u202e/);
    const controls = [...`${out.subject}${out.body.replace(/\n/g, "")}`].filter((c) =>
      /\p{Cc}|\u202e/u.test(c),
    );
    assert.deepEqual(controls, [], "control characters reached a channel");
    assert.doesNotMatch(everything, /pwned|\[31m|\[0m/);
    assert.match(out.body, /Why: Step failed ok\n/);
    assert.match(out.body, / {2}ERROR: disk full\n {2}bell null end\n/);
  });

  it("the Slack text fallback and every other Slack text is escaped: no <!channel>, no CR/LF", async () => {
    const alert: Alert = {
      kind: "rollout-failed",
      rolloutId: "web/2.0.3/1",
      pipeline: "web <!channel>\r\n& <https://evil.example|click>",
      failures: [
        {
          wave: "<!here>",
          account: "dev <@U123>",
          accountId: "111111111111",
          region: "eu-west-1",
          reason: "AccessDenied <!everyone> & more",
        },
      ],
    };
    const out = await deliver(alert);
    assert.doesNotMatch(out.slack.text, /[<>\r\n]/);
    assert.match(out.slack.text, /^Rollout failed: web &lt;!channel&gt; &amp; &lt;https/);
    for (const text of textsOf(out.slack)) {
      assert.doesNotMatch(text, /<|>|&(?!amp;|lt;|gt;)/, `unescaped: ${text}`);
    }
    assert.doesNotMatch(out.subject, /[\r\n]/);
  });
});
