import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Logger } from "@aws-lambda-powertools/logger";
import {
  GetImagePipelineCommand,
  ImagebuilderClient,
  ListImagePipelineImagesCommand,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import { makeHandler, PipelineStartError } from "../../../functions/start-pipelines.ts";
import { InvalidEventError } from "../../../lib/errors.ts";
import { fakeContext } from "../../../sandbox/lambda.ts";
import { loadEvent, pipelineArn, testConfig } from "../../helpers/fixtures.ts";

const imageBuilder = mockClient(ImagebuilderClient);

const setup = (options: { now?: number; extraConfig?: string } = {}) => {
  const logger = new Logger({ serviceName: "test", logLevel: "SILENT" });
  const logged: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  for (const level of ["info", "warn", "error"] as const) {
    logger[level] = ((message: string, fields: Record<string, unknown> = {}) => {
      logged.push({ level, message, fields });
    }) as never;
  }
  const counted: Array<[string, Record<string, string> | undefined]> = [];
  const metrics = {
    count: (name: string, dimensions?: Record<string, string>) => counted.push([name, dimensions]),
  };
  const config = testConfig(`  - name: base-al2023
    arn: ${pipelineArn("base-al2023")}
${options.extraConfig ?? ""}`);
  const handler = makeHandler(
    () => ({
      config,
      imageBuilder: (region) => new ImagebuilderClient({ region }),
      clock: { now: () => options.now ?? 0 },
    }),
    { logger, metrics },
  );
  return {
    handler,
    logged,
    counted,
    invoke: (event: unknown) => handler(event, fakeContext("start-pipelines")),
  };
};

describe("start-pipelines handler", () => {
  beforeEach(() => {
    imageBuilder.reset();
    imageBuilder.on(GetImagePipelineCommand).resolves({ imagePipeline: { status: "ENABLED" } });
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({ imageSummaryList: [] });
    imageBuilder
      .on(StartImagePipelineExecutionCommand)
      .resolves({ imageBuildVersionArn: "arn:build" });
  });

  it("starts the pipeline of the sample Scheduler event, logs and counts the outcome", async () => {
    const { invoke, logged, counted } = setup();

    const response = await invoke(loadEvent("scheduler-tick"));

    assert.equal(response.results[0]?.outcome, "started");
    assert.deepEqual(counted, [["PipelineStarted", { pipeline: "base-al2023" }]]);
    const entry = logged.find((log) => log.message === "pipeline started");
    assert.equal(entry?.fields.pipeline, "base-al2023");
    assert.equal(entry?.fields.scheduledTime, "2026-11-23T02:00:00Z");
  });

  it("starts nothing when our clock is inside a freeze, whatever time the tick claims, and logs and counts it as frozen", async () => {
    const { invoke, logged, counted } = setup({
      now: Date.parse("2026-12-24T02:00:30Z"),
      extraConfig: 'freeze: [{ from: "2026-12-20", to: "2027-01-03", reason: holidays }]',
    });

    // A forged tick: dated a week before the freeze, invoked directly during it.
    const response = await invoke({
      pipeline: "base-al2023",
      scheduledTime: "2026-12-17T02:00:00Z",
    });

    assert.equal(response.results[0]?.outcome, "skipped-freeze");
    assert.equal(imageBuilder.calls().length, 0);
    assert.deepEqual(counted, [["PipelineSkippedFreeze", { pipeline: "base-al2023" }]]);
    const entry = logged.find((log) => log.message === "pipeline skipped-freeze");
    assert.equal(entry?.fields.scheduledTime, "2026-12-17T02:00:00Z");
    assert.equal(entry?.fields.decidedAt, "2026-12-24T02:00:30.000Z");
    assert.match(String(entry?.fields.reason), /2026-12-20 → 2027-01-03 \(holidays\)/);
  });

  it("reports a disabled pipeline as a structured warning ready for alerting", async () => {
    imageBuilder.on(GetImagePipelineCommand).resolves({ imagePipeline: { status: "DISABLED" } });
    const { invoke, logged, counted } = setup();

    const response = await invoke({ pipeline: "base", scheduledTime: "2026-11-23T02:00:00Z" });

    assert.equal(response.results[0]?.outcome, "skipped-disabled");
    assert.deepEqual(counted, [["PipelineSkippedDisabled", { pipeline: "base" }]]);
    const warning = logged.find((log) => log.level === "warn");
    assert.equal(warning?.fields.alert, "pipeline-disabled");
    assert.equal(warning?.fields.pipelineArn, pipelineArn("base"));
  });

  it("reports every pipeline, then fails the invocation if any failed (so Lambda retries and dead-letters)", async () => {
    const { invoke, counted } = setup();

    await assert.rejects(
      invoke({ pipelines: ["base", "nope"], scheduledTime: "2026-11-23T02:00:00Z" }),
      (error: unknown) => {
        assert.ok(error instanceof PipelineStartError);
        assert.match(
          error.message,
          /1 of 2 pipeline\(s\) could not be started: nope: unknown pipeline/,
        );
        assert.deepEqual(
          error.results.map((result) => result.outcome),
          ["started", "failed"],
        );
        return true;
      },
    );
    assert.deepEqual(
      counted.map(([name]) => name),
      ["PipelineStarted", "PipelineStartFailed"],
    );
  });

  it("rejects a malformed event with a clear error, logged together with the event", async () => {
    const { invoke, logged } = setup();
    const event = { pipeline: 42 };

    await assert.rejects(invoke(event), InvalidEventError);

    const entry = logged.find((log) => log.level === "error");
    assert.equal(entry?.message, "rejected malformed event");
    assert.deepEqual(entry?.fields.event, event);
    assert.match(String((entry?.fields.error as Error | undefined)?.message), /pipeline: .*got 42/);
    assert.equal(imageBuilder.calls().length, 0);
  });
});
