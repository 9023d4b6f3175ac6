import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { loadConfig } from "../../lib/config/load.ts";
import { type InstalledSandbox, installSandbox } from "../../sandbox/install.ts";
import { invoke } from "../../sandbox/lambda.ts";
import type { SandboxWorld } from "../../sandbox/model/world.ts";
import { worldFromConfig } from "../../sandbox/world-from-config.ts";
import { repoPath } from "../helpers/fixtures.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

/** The real start-pipelines handler, as Lambda runs it, against the sandbox's Image Builder. */
describe("scheduled AMI refresh in the sandbox", () => {
  const config = loadConfig(repoPath("config/orchestrator.yml"));
  let world: SandboxWorld;
  let sandbox: InstalledSandbox;
  let handler: typeof import("../../functions/start-pipelines.ts").handler;

  before(async () => {
    world = await worldFromConfig(config, {
      start: "2026-11-23T01:59:00Z",
      disabledPipelines: ["web-ubuntu2404"],
    });
    sandbox = installSandbox(world);
    ({ handler } = await import("../../functions/start-pipelines.ts"));
  });
  after(() => sandbox.restore());

  const tick = (pipeline: string, scheduledTime: string) => {
    world.clock.advanceTo(scheduledTime);
    return invoke(handler, "start-pipelines", { pipeline, scheduledTime });
  };

  it("a tick starts one build; the same tick again starts nothing", async () => {
    const first = await tick("base-al2023", "2026-11-23T02:00:00Z");
    const second = await tick("base-al2023", "2026-11-23T02:00:00Z");

    assert.ok(first.ok && second.ok);
    assert.equal(first.result.results[0]?.outcome, "started");
    assert.equal(second.result.results[0]?.outcome, "skipped-building");
    assert.equal(world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "").length, 1);
  });

  it("a retry after the build finished returns the original build (same client token)", async () => {
    world.clock.advance(60 * 60_000);
    const [image] = world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "");
    assert.equal(image?.status, "AVAILABLE");

    const retry = await tick("base-al2023", "2026-11-23T02:00:00Z");

    assert.ok(retry.ok);
    assert.equal(retry.result.results[0]?.imageBuildVersionArn, image?.arn);
    assert.equal(world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "").length, 1);
  });

  it("a disabled pipeline is reported, not started", async () => {
    const outcome = await tick("web-ubuntu2404", "2026-11-23T02:30:00Z");
    assert.ok(outcome.ok);
    assert.equal(outcome.result.results[0]?.outcome, "skipped-disabled");
    assert.equal(world.imageBuilder.imagesOf(config.pipelines[1]?.arn ?? "").length, 0);
  });

  it("next week's tick starts a new build", async () => {
    const outcome = await tick("base-al2023", "2026-11-30T02:00:00Z");
    assert.ok(outcome.ok);
    assert.equal(outcome.result.results[0]?.outcome, "started");
    assert.equal(world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "").length, 2);
  });

  it("a throttled StartImagePipelineExecution is retried by the SDK itself: one build", async () => {
    const throttled = {
      name: "CallRateLimitExceededException",
      httpStatusCode: 429,
      throttling: true,
    };
    const rule = world.faults.add({
      service: "imagebuilder",
      operation: "StartImagePipelineExecution",
      error: throttled,
      times: 1,
    });
    const outcome = await tick("base-al2023", "2026-12-07T02:00:00Z");
    world.faults.remove(rule);

    assert.ok(outcome.ok);
    assert.equal(outcome.result.results[0]?.outcome, "started");
    // One throttled attempt, then the SDK's retry: the handler never saw the error.
    assert.equal(
      world.callsTo("imagebuilder:StartImagePipelineExecution", { succeeded: false }).length,
      1,
    );
    assert.equal(world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "").length, 3);
  });

  it("an outage beyond the SDK's attempts fails the tick; Lambda's retry starts exactly one build", async () => {
    // A 5xx rather than throttling: same path, shorter SDK backoff, faster test.
    const unavailable = { name: "ServiceUnavailableException", httpStatusCode: 503 };
    const rule = world.faults.add({
      service: "imagebuilder",
      operation: "StartImagePipelineExecution",
      error: unavailable,
      times: 5,
    });
    const first = await tick("base-al2023", "2026-12-14T02:00:00Z");
    assert.ok(!first.ok);
    assert.match(first.error.message, /ServiceUnavailableException/);
    world.faults.remove(rule);

    const retry = await tick("base-al2023", "2026-12-14T02:00:00Z");

    assert.ok(retry.ok);
    assert.equal(retry.result.results[0]?.outcome, "started");
    assert.equal(world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "").length, 4);
  });
});

describe("npm start", () => {
  it("tells the scheduled-refresh and rollout story, and a retried tick starts no second build", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", repoPath("sandbox/demo.ts")],
      {
        cwd: repoPath(""),
        env: { ...process.env, NO_COLOR: "1", ORCHESTRATOR_CONFIG: "" },
        timeout: 180_000,
      },
    );
    assert.match(stdout, /base-al2023: started/);
    assert.match(stdout, /base-al2023: skipped-building/);
    assert.match(stdout, /web-ubuntu2404: skipped-disabled/);
    assert.match(stdout, /base-al2023: skipped-freeze/);
    // Four calls (one a late retry of the first tick) and three builds, of both pipelines.
    assert.match(
      stdout,
      /StartImagePipelineExecution calls: 4 · builds started: 3 \(1 retried tick was answered with the build already started\)/,
    );
    // The rollout of the first wave: grant, wait, versions, refreshes, nothing dead-lettered.
    assert.match(
      stdout,
      /CreateGrant on key .* for AWSServiceRoleForAutoScaling_dev \(8 operations/,
    );
    assert.match(stdout, /target 111111111111\/eu-west-1 waiting-for-grants/);
    assert.match(
      stdout,
      /StartInstanceRefresh base-al2023-workers → template version 2 \(whole mixed-instances policy\)/,
    );
    assert.match(stdout, /base-al2023-app: refresh Successful/);
    assert.match(stdout, /duplicate base-al2023\/1\.0\.0\/1/);
    assert.match(stdout, /dead letters: 0/);
    // Waves: dev bakes an hour, then prod; a lost event is made up for by the poll.
    assert.match(stdout, /03:55:00 .*wave "prod" dispatched: 2 target\(s\)/);
    assert.match(stdout, /poll: base-al2023-workers is Successful \(no event had said so\)/);
    assert.match(stdout, /rollout base-al2023\/1\.0\.0\/1 succeeded/);
    assert.match(stdout, /base-al2023\/1\.0\.0\/1 {2}base-al2023 {2}SUCCEEDED/);
    // Alerts, as received by the loopback Slack webhook and the email topic.
    assert.match(stdout, /┃ :red_circle: Pipeline disabled: web-ubuntu2404/);
    assert.match(
      stdout,
      /┃ :red_circle: Image build failed: web-ubuntu2404\n.*\n.*\n.*\n.*┃ Failed step: ValidateBuild/,
    );
    assert.match(stdout, /┃ {3}Stdout: connecting with DB_PASSWORD=\*\*\*\*/);
    assert.match(stdout, /Subject: \[ami-orchestrator\] Image build failed: web-ubuntu2404/);
    assert.doesNotMatch(stdout, /correct-horse-battery/);
    // A pipeline sharing its AMIs by launch permission rolls out next to the copied one: every
    // target launches the build account's AMI, with a grant on the build account's key.
    assert.match(
      stdout,
      /target 111111111111\/eu-west-1 refreshing · launches ami-\w+, shared by 999999999999 \(launch permission\) · 1 grant\(s\) on 999999999999's key/,
    );
    assert.match(stdout, /rollout web-ubuntu2404\/1\.0\.0\/2 succeeded/);
  });

  it("--scenario runs one fault scenario and ends with the status table", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", repoPath("sandbox/demo.ts"), "--scenario", "grant-refused"],
      {
        cwd: repoPath(""),
        env: { ...process.env, NO_COLOR: "1", ORCHESTRATOR_CONFIG: "" },
        timeout: 180_000,
      },
    );
    assert.match(stdout, /scenario "grant-refused"/);
    assert.match(stdout, /Subject: \[ami-orchestrator\] Rollout failed: base-al2023/);
    assert.match(stdout, /"Principal":\{"AWS":"arn:aws:iam::111111111111:root"\}/);
    assert.match(
      stdout.trimEnd().split("\n").slice(-12).join("\n"),
      /base-al2023\/1\.0\.0\/1 {2}base-al2023 {2}FAILED/,
    );
  });
});
