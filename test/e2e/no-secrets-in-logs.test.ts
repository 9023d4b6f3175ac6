import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fakeContext } from "../../sandbox/lambda.ts";
import type { SandboxQueue } from "../../sandbox/model/sqs.ts";
import { loadEvent } from "../helpers/fixtures.ts";
import { leakedSecrets, PLANTED_SECRETS, PLANTED_TEXT } from "../helpers/planted-secrets.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

// Every level, so a secret in a debug line counts too (sandbox-suite keeps handlers SILENT).
process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";

const WEB = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/web-ubuntu2404";

/**
 * Everything the functions write to stdout and stderr (where Lambda sends CloudWatch Logs), kept
 * from the test output; anything else (the test runner's own reports) passes through.
 */
const captureOutput = () => {
  const captured: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, index) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      if (text.startsWith("{") && text.includes('"level"')) {
        captured.push(text);
        return true;
      }
      return (originals[index] as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  });
  return {
    captured,
    restore: () =>
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      }),
  };
};

/**
 * Item 11 of issue 19: every function, fed secrets in every text it did not write (Image Builder's
 * failure reason and build log, an instance refresh's StatusReason, a failed launch's
 * StatusMessage and Cause, a rejected event or queue message), logs none of them.
 */
describe("no secret in any function's log", () => {
  const sandbox = sandboxSuite(undefined, { start: "2026-11-23T01:59:00Z" });
  let output: ReturnType<typeof captureOutput>;
  before(() => {
    output = captureOutput();
  });
  after(() => output.restore());

  const ignoreFailure = (promise: Promise<unknown>) => promise.catch(() => undefined);
  // A rejected message's log line quotes its first 120 characters: one message per secret.
  const queueEvent = (queue: SandboxQueue) =>
    sandbox.session.lambda.sqsEvent(
      PLANTED_SECRETS.map(({ text }, index) => ({
        messageId: `poison-${index}`,
        body: text,
        sentAt: 0,
        visibleAt: 0,
        receiveCount: 1,
      })),
      queue,
    );

  it("failed builds whose reasons and logs carry secrets", async () => {
    const { world, handlers, lambda } = sandbox.session;
    // A reason is at most 1,024 characters (GetImage's API model): the secrets in two builds.
    const half = Math.ceil(PLANTED_SECRETS.length / 2);
    for (const [day, planted] of [
      PLANTED_SECRETS.slice(0, half),
      PLANTED_SECRETS.slice(half),
    ].entries()) {
      const texts = planted.map(({ text }) => text);
      world.imageBuilder.failNextBuild(WEB, {
        step: "BUILDING",
        failedStep: "Build",
        reason: `Step 'Build' failed with exception: ${texts.join(" ")}`,
        logLines: texts.join("\n").split("\n"),
      });
      const at = `2026-11-2${4 + day}T07:30:00.000Z`;
      world.clock.advanceTo(at);
      await handlers.startPipelines(
        { pipeline: "web-ubuntu2404", scheduledTime: at },
        fakeContext("start-pipelines"),
      );
      await lambda.run(world.clock.now() + 60 * 60_000);
    }
    assert.equal(
      output.captured.filter((line) => line.includes('"image build failed"')).length,
      2,
      "on-image-state logged both failed builds",
    );
  });

  it("events and queue messages rejected with secrets in them", async () => {
    const { handlers, world } = sandbox.session;
    await ignoreFailure(
      handlers.startPipelines(
        { pipeline: PLANTED_TEXT, scheduledTime: "not a time" },
        fakeContext("start-pipelines"),
      ),
    );
    await ignoreFailure(
      handlers.onImageState(
        {
          "detail-type": "EC2 Image Builder Image State Change",
          source: "aws.imagebuilder",
          detail: { state: { status: "FAILED", reason: PLANTED_TEXT } },
        },
        fakeContext("on-image-state"),
      ),
    );
    await ignoreFailure(
      handlers.rollOutTarget(queueEvent(world.queues.rollout), fakeContext("roll-out-target")),
    );
    await ignoreFailure(handlers.alerts(queueEvent(world.queues.alerts), fakeContext("alerts")));
    await ignoreFailure(
      handlers.watchRollouts({ action: PLANTED_TEXT }, fakeContext("watch-rollouts")),
    );
  });

  it("Auto Scaling's StatusReason, StatusMessage and Cause with secrets in them", async () => {
    const { handlers } = sandbox.session;
    const refreshFailed = loadEvent<{ detail: Record<string, unknown> }>(
      "asg-instance-refresh-failed",
    );
    refreshFailed.detail.StatusReason = PLANTED_TEXT;
    await ignoreFailure(handlers.watchRollouts(refreshFailed, fakeContext("watch-rollouts")));
    const launchFailed = loadEvent<{ detail: Record<string, unknown> }>("asg-launch-unsuccessful");
    launchFailed.detail.StatusMessage = `Client.InternalError: ${PLANTED_TEXT}`;
    launchFailed.detail.Cause = PLANTED_TEXT;
    await ignoreFailure(
      handlers.explainLaunchFailure(launchFailed, fakeContext("explain-launch-failure")),
    );
  });

  it("every function logged, and no planted secret is in any line", () => {
    const lines = output.captured.join("");
    const functions = new Set(
      output.captured.flatMap((line) => line.match(/"function_name":"([^"]+)"/)?.[1] ?? []),
    );
    assert.deepEqual([...functions].sort(), [
      "alerts",
      "explain-launch-failure",
      "on-image-state",
      "roll-out-target",
      "start-pipelines",
      "watch-rollouts",
    ]);
    assert.ok(PLANTED_SECRETS.length >= 16);
    assert.deepEqual(leakedSecrets(lines), []);
  });
});
