import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeAlert } from "../../../lib/alerts/describe.ts";
import { renderEmail, renderSlack } from "../../../lib/alerts/render.ts";
import type { Alert } from "../../../lib/alerts/types.ts";

const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/web-ubuntu2404/2.0.3/12";
const PIPELINE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/web-ubuntu2404";

const buildFailed: Alert = {
  kind: "build-failed",
  imageArn: IMAGE,
  pipeline: "web-ubuntu2404",
  pipelineArn: PIPELINE,
  reason: "Image Build Failure",
  diagnosis: {
    reason:
      "Image Build Failure: Step 'ValidateBuild' failed with exception: Component 'hardening-cis' exited with code 1",
    failedStep: "ValidateBuild",
    stepMessage: "hardening-cis: 3 controls failed",
    logGroup: "/aws/imagebuilder/web-ubuntu2404",
    logStream: "2.0.3/12",
    logExcerpt: ["Running hardening-cis", "FAIL 5.2.8 sshd PermitRootLogin", "exit status 1"],
  },
};

/** The parts of a Block Kit block the assertions read. */
type Block = {
  type: string;
  text: { type: string; text: string; emoji?: boolean };
  fields: Array<{ text: string }>;
  elements: Array<{ text: { text: string }; url: string }>;
};

const blocksOf = (alert: Alert) => renderSlack(describeAlert(alert)).blocks as Block[];

describe("alert rendering", () => {
  it("a failed build in Slack: header, facts, why, step, log excerpt and console buttons", () => {
    const message = renderSlack(describeAlert(buildFailed));
    assert.equal(message.text, "Image build failed: web-ubuntu2404");
    const [header, facts, why, details, log, actions] = message.blocks as Block[];
    assert.deepEqual(header, {
      type: "header",
      text: {
        type: "plain_text",
        text: ":red_circle: Image build failed: web-ubuntu2404",
        emoji: true,
      },
    });
    assert.deepEqual(
      facts?.fields.map((field: { text: string }) => field.text),
      [
        "*Pipeline*\nweb-ubuntu2404",
        "*Image*\nweb-ubuntu2404/2.0.3/12",
        "*Account / region*\n999999999999 / eu-west-1",
        "*Failed step*\nValidateBuild",
      ],
    );
    assert.match(why?.text.text ?? "", /^\*Why:\* Image Build Failure: Step 'ValidateBuild'/);
    assert.equal(details?.text.text, "Step ValidateBuild: hardening-cis: 3 controls failed");
    assert.equal(
      log?.text.text,
      "```Running hardening-cis\nFAIL 5.2.8 sshd PermitRootLogin\nexit status 1```",
    );
    assert.deepEqual(
      actions?.elements.map((button: { text: { text: string }; url: string }) => [
        button.text.text,
        button.url.split("#")[0],
      ]),
      [
        ["Image", "https://eu-west-1.console.aws.amazon.com/imagebuilder/home?region=eu-west-1"],
        ["Build log", "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"],
        ["Pipeline", "https://eu-west-1.console.aws.amazon.com/imagebuilder/home?region=eu-west-1"],
      ],
    );
    assert.match(
      actions?.elements[1]?.url ?? "",
      /log-group\/\$252Faws\$252Fimagebuilder\$252Fweb-ubuntu2404\/log-events\/2\.0\.3\$252F12$/,
    );
  });

  it("the same failed build as an email: subject under 100 characters, the same facts as text", () => {
    const { subject, body } = renderEmail(describeAlert(buildFailed));
    assert.equal(subject, "[ami-orchestrator] Image build failed: web-ubuntu2404");
    assert.match(
      body,
      /^Image build failed: web-ubuntu2404\n\nPipeline: {9}web-ubuntu2404\nImage: {12}web-ubuntu2404\/2\.0\.3\/12\n/,
    );
    assert.match(body, /\nWhy: Image Build Failure: Step 'ValidateBuild'/);
    assert.match(body, /Last lines of the build log:\n {2}Running hardening-cis\n {2}FAIL 5\.2\.8/);
    assert.match(body, /\nBuild log: https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch/);
  });

  it("keeps Slack's limits: the header, and the end of a long log within one section", () => {
    const long: Alert = {
      ...buildFailed,
      pipeline: "p".repeat(300),
      diagnosis: {
        logExcerpt: Array.from({ length: 400 }, (_, i) => `line ${i} ${"x".repeat(40)} <tag> & co`),
      },
    } as Alert;
    const blocks = blocksOf(long);
    assert.ok((blocks[0]?.text.text.length ?? 0) <= 150);
    const log = blocks.find((block) => String(block.text?.text).startsWith("```"));
    assert.ok(log && log.text.text.length <= 3000);
    assert.match(
      log?.text.text,
      /line 399 x+ &lt;tag&gt; &amp; co```$/,
      "the last lines are kept, escaped",
    );
    assert.ok(renderEmail(describeAlert(long)).subject.length < 100);
  });

  it("a failed rollout names every failing account, region, group, refresh and reason", () => {
    const alert: Alert = {
      kind: "rollout-failed",
      rolloutId: "base-al2023/1.4.0/7",
      pipeline: "base-al2023",
      failures: [
        {
          wave: "dev",
          account: "dev",
          accountId: "111111111111",
          region: "eu-west-1",
          group: "app",
          instanceRefreshId: "r-1",
          reason: "RollbackSuccessful: Client.InternalError",
        },
        {
          wave: "dev",
          account: "dev",
          accountId: "111111111111",
          region: "eu-west-3",
          reason:
            "cannot assume arn:aws:iam::111111111111:role/ami-orchestrator-target: AccessDenied",
        },
      ],
    };
    const { subject, body } = renderEmail(describeAlert(alert));
    assert.equal(subject, "[ami-orchestrator] Rollout failed: base-al2023 1.4.0/7");
    assert.match(
      body,
      /• dev \(111111111111\) eu-west-1 group app refresh r-1: RollbackSuccessful: Client\.InternalError/,
    );
    assert.match(body, /• dev \(111111111111\) eu-west-3: cannot assume .*AccessDenied/);
    assert.match(body, /Later waves will not start/);
    assert.equal(blocksOf(alert)[0]?.text.text, ":red_circle: Rollout failed: base-al2023 1.4.0/7");
  });

  it("every other kind renders with a title and facts", () => {
    const alerts: Alert[] = [
      {
        kind: "pipeline-disabled",
        pipelineArn: PIPELINE,
        pipeline: "web-ubuntu2404",
        automatic: true,
        consecutiveFailures: 3,
        lastFailedImageArn: IMAGE,
      },
      { kind: "pipeline-disabled", pipelineArn: PIPELINE, automatic: false },
      {
        kind: "rollout-superseded",
        rolloutId: "base-al2023/1.4.0/7",
        pipeline: "base-al2023",
        supersededBy: "base-al2023/1.4.0/8",
      },
      {
        kind: "rollout-rolled-back",
        rolloutId: "base-al2023/1.4.0/7",
        pipeline: "base-al2023",
        requestedBy: "alice",
        groups: 6,
        failedGroups: [],
      },
      {
        kind: "dead-letters",
        queue: "https://sqs.eu-west-1.amazonaws.com/999999999999/ami-orchestrator-prod-rollout-dlq",
        alarm: "RolloutDeadLetterAlarm",
      },
    ];
    assert.deepEqual(
      alerts.map((alert) => renderEmail(describeAlert(alert)).subject),
      [
        "[ami-orchestrator] Pipeline automatically disabled: web-ubuntu2404",
        "[ami-orchestrator] Pipeline disabled: web-ubuntu2404",
        "[ami-orchestrator] Rollout superseded: base-al2023",
        "[ami-orchestrator] Rollout rolled back: base-al2023 1.4.0/7",
        "[ami-orchestrator] Messages dead-lettered: ami-orchestrator-prod-rollout-dlq",
      ],
    );
    assert.match(renderEmail(describeAlert(alerts[0] as Alert)).body, /Consecutive failures: 3/);
  });

  it("a failed launch: group, account, region, activity, diagnosis, the chain and what was done, redacted", () => {
    const alert: Alert = {
      kind: "launch-failed",
      accountId: "222222222222",
      region: "eu-west-3",
      group: "web-api",
      activityId: "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
      since: "2026-12-21T09:14:02Z",
      cause: "missing-grant",
      explanation: "the group's service-linked role has no grant on the key",
      fix: "create the grant",
      consoleUrl:
        "https://eu-west-3.console.aws.amazon.com/ec2/home?region=eu-west-3#AutoScalingGroupDetails:id=web-api;view=activity",
      chain: ["group web-api launches web version 3 (3)", "version 3 launches ami-1"],
      statusMessage: "Client.InternalError: Client error on launch password=hunter2",
      action: "created grant ami-orchestrator-AWSServiceRoleForAutoScaling-0123 on arn:aws:kms:…",
      pipeline: "web-ubuntu2404",
    };
    const { subject, body } = renderEmail(describeAlert(alert));
    assert.match(subject, /Instance launch failed: web-api/);
    for (const expected of [
      /222222222222 \/ eu-west-3/,
      /9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a/,
      /missing-grant/,
      /version 3 launches ami-1/,
      /Done: created grant/,
      /Client\.InternalError/,
    ])
      assert.match(body, expected);
    assert.doesNotMatch(body, /hunter2/);
    const slack = JSON.stringify(renderSlack(describeAlert(alert)));
    assert.match(slack, /Instance launch failed/);
    assert.doesNotMatch(slack, /hunter2/);
  });

  describe("a long reason is said once, whichever kind carries it", () => {
    // 600 characters of prose (no secrets, nothing to redact), with a start to count by.
    const REASON =
      `Start of the reason. ${"Component hardening-cis exited with code 1 after checking sshd settings. ".repeat(9)}`.slice(
        0,
        600,
      );
    const occurrences = (text: string) => text.split("Start of the reason.").length - 1;
    const place = { wave: "dev", account: "dev", accountId: "111111111111" } as const;
    const cases: Array<[string, Alert]> = [
      [
        "a build whose step message and log quote Image Builder's reason",
        {
          ...buildFailed,
          reason: REASON,
          diagnosis: {
            ...buildFailed.diagnosis,
            reason: REASON,
            stepMessage: `Step 'ValidateBuild' failed: ${REASON}`,
            logExcerpt: ["Running hardening-cis", `2026-11-23T02:44:10Z ERROR ${REASON}`],
          },
        },
      ],
      [
        "a build whose reason, step message and last log line are the same text",
        {
          ...buildFailed,
          reason: REASON,
          diagnosis: {
            ...buildFailed.diagnosis,
            reason: REASON,
            stepMessage: REASON,
            logExcerpt: [REASON],
          },
        },
      ],
      [
        "a rollout whose groups all failed for the same reason",
        {
          kind: "rollout-failed",
          rolloutId: "base-al2023/1.4.0/7",
          pipeline: "base-al2023",
          failures: [
            { ...place, region: "eu-west-1", group: "app", reason: REASON },
            { ...place, region: "eu-west-1", group: "workers", reason: REASON },
            { ...place, region: "eu-west-3", group: "app", reason: REASON },
          ],
        },
      ],
      [
        "a failed launch whose explanation is Auto Scaling's own message",
        {
          kind: "launch-failed",
          accountId: "222222222222",
          region: "eu-west-3",
          group: "web-api",
          activityId: "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
          since: "2026-12-21T09:14:02Z",
          cause: "unknown",
          explanation: REASON,
          chain: [],
          statusMessage: REASON,
          action: "not healed: cause unknown",
        },
      ],
    ];
    for (const [name, alert] of cases) {
      it(name, () => {
        const { body } = renderEmail(describeAlert(alert));
        const slack = JSON.stringify(renderSlack(describeAlert(alert)));
        assert.equal(occurrences(body), 1, body);
        assert.equal(occurrences(slack), 1, slack);
        assert.ok(body.includes(REASON), "whole, once");
      });
    }

    it("every place a shared reason failed is still named", () => {
      const { body } = renderEmail(describeAlert(cases[2]?.[1] as Alert));
      assert.match(
        body,
        /• dev \(111111111111\) eu-west-1 group app, dev \(111111111111\) eu-west-1 group workers, dev \(111111111111\) eu-west-3 group app: Start of the reason\./,
      );
    });

    it("the log keeps its lines and what surrounds a quote", () => {
      const { body } = renderEmail(describeAlert(cases[0]?.[1] as Alert));
      assert.match(
        body,
        /\n {2}Running hardening-cis\n {2}2026-11-23T02:44:10Z ERROR \[quoted above\]\n/,
      );
    });
  });
});
