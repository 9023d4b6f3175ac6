import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  GetImagePipelineCommand,
  ImagebuilderClient,
  ListImagePipelineImagesCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import {
  pipelineClientToken,
  type StartPipelineDeps,
  startPipeline,
  startPipelines,
} from "../../../lib/image-builder/start-pipeline.ts";
import { pipelineArn, testConfig } from "../../helpers/fixtures.ts";

const imageBuilder = mockClient(ImagebuilderClient);
const TICK = "2026-11-23T02:00:00Z";
const BUILD_ARN = "arn:aws:imagebuilder:eu-west-1:999999999999:image/base/1.0.0/4";

const deps = (overrides: Partial<StartPipelineDeps> = {}): StartPipelineDeps => {
  const clients = new Map<string, ImagebuilderClient>();
  return {
    config: testConfig(),
    imageBuilder: (region) => {
      const client = clients.get(region) ?? new ImagebuilderClient({ region });
      clients.set(region, client);
      return client;
    },
    clock: { now: () => Date.parse("2026-11-23T09:41:27.512Z") },
    ...overrides,
  };
};

const pipelineNamed = (name: string) => {
  const pipeline = testConfig().pipelines.find((candidate) => candidate.name === name);
  assert.ok(pipeline);
  return pipeline;
};

const enabledAndIdle = () => {
  imageBuilder.on(GetImagePipelineCommand).resolves({ imagePipeline: { status: "ENABLED" } });
  imageBuilder.on(ListImagePipelineImagesCommand).resolves({ imageSummaryList: [] });
  imageBuilder.on(StartImagePipelineExecutionCommand).resolves({ imageBuildVersionArn: BUILD_ARN });
};

describe("startPipeline", () => {
  beforeEach(() => imageBuilder.reset());
  afterEach(() => imageBuilder.reset());

  it("starts an enabled, idle pipeline with a client token derived from its ARN and the scheduled time", async () => {
    enabledAndIdle();

    const result = await startPipeline(pipelineNamed("base"), TICK, deps());

    assert.equal(result.outcome, "started");
    assert.equal(result.imageBuildVersionArn, BUILD_ARN);
    const [call] = imageBuilder.commandCalls(StartImagePipelineExecutionCommand);
    assert.deepEqual(call?.args[0].input, {
      imagePipelineArn: pipelineArn("base"),
      clientToken: pipelineClientToken(pipelineArn("base"), TICK),
    });
    assert.match(call?.args[0].input.clientToken ?? "", /^[0-9a-f]{64}$/);
  });

  it("sends the same client token when the same tick is delivered twice", async () => {
    enabledAndIdle();

    await startPipeline(pipelineNamed("base"), TICK, deps());
    await startPipeline(pipelineNamed("base"), "2026-11-23T02:00:00.000+00:00", deps());

    const tokens = imageBuilder
      .commandCalls(StartImagePipelineExecutionCommand)
      .map((call) => call.args[0].input.clientToken);
    assert.equal(tokens.length, 2);
    assert.equal(tokens[0], tokens[1]);
  });

  it("uses a different token for a different tick or pipeline", () => {
    const token = pipelineClientToken(pipelineArn("base"), TICK);
    assert.notEqual(token, pipelineClientToken(pipelineArn("base"), "2026-11-30T02:00:00Z"));
    assert.notEqual(token, pipelineClientToken(pipelineArn("web"), TICK));
  });

  it("calls the pipeline's own region", async () => {
    enabledAndIdle();
    const regions: string[] = [];
    const base = deps();

    await startPipeline(pipelineNamed("web"), TICK, {
      ...base,
      imageBuilder: (region) => {
        regions.push(region);
        return base.imageBuilder(region);
      },
    });

    assert.deepEqual(regions, ["eu-west-3"]);
  });

  it("does not start a disabled pipeline and says so", async () => {
    enabledAndIdle();
    imageBuilder.on(GetImagePipelineCommand).resolves({ imagePipeline: { status: "DISABLED" } });

    const result = await startPipeline(pipelineNamed("base"), TICK, deps());

    assert.equal(result.outcome, "skipped-disabled");
    assert.match(result.reason ?? "", /DISABLED/);
    assert.equal(imageBuilder.commandCalls(StartImagePipelineExecutionCommand).length, 0);
  });

  it("skips a pipeline whose image is still in progress, found on a later page", async () => {
    enabledAndIdle();
    imageBuilder
      .on(ListImagePipelineImagesCommand)
      .resolvesOnce({
        imageSummaryList: [{ arn: "old", state: { status: "AVAILABLE" } }],
        nextToken: "p2",
      })
      .resolvesOnce({ imageSummaryList: [{ arn: BUILD_ARN, state: { status: "TESTING" } }] });

    const result = await startPipeline(pipelineNamed("base"), TICK, deps());

    assert.equal(result.outcome, "skipped-building");
    assert.deepEqual(result.activeImage, { arn: BUILD_ARN, status: "TESTING" });
    assert.equal(
      imageBuilder.commandCalls(ListImagePipelineImagesCommand)[1]?.args[0].input.nextToken,
      "p2",
    );
    assert.equal(imageBuilder.commandCalls(StartImagePipelineExecutionCommand).length, 0);
  });

  it("treats every in-progress status as building, and finished ones as idle", async () => {
    for (const [status, expected] of [
      ["PENDING", "skipped-building"],
      ["CREATING", "skipped-building"],
      ["BUILDING", "skipped-building"],
      ["TESTING", "skipped-building"],
      ["DISTRIBUTING", "skipped-building"],
      ["INTEGRATING", "skipped-building"],
      ["AVAILABLE", "started"],
      ["FAILED", "started"],
      ["CANCELLED", "started"],
    ] as const) {
      imageBuilder.reset();
      enabledAndIdle();
      imageBuilder
        .on(ListImagePipelineImagesCommand)
        .resolves({ imageSummaryList: [{ arn: "i", state: { status } }] });
      const result = await startPipeline(pipelineNamed("base"), TICK, deps());
      assert.equal(result.outcome, expected, status);
    }
  });

  it("skips inside a freeze window without calling AWS", async () => {
    enabledAndIdle();
    const config = testConfig(
      'freeze: [{ from: "2026-11-20", to: "2026-11-25", reason: release }]',
    );

    const result = await startPipeline(pipelineNamed("base"), TICK, deps({ config }));

    assert.equal(result.outcome, "skipped-freeze");
    assert.match(result.reason ?? "", /2026-11-20 → 2026-11-25 \(release\)/);
    assert.equal(imageBuilder.calls().length, 0);
  });

  it("applies a pipeline's own freeze window in its schedule's time zone", async () => {
    enabledAndIdle();
    const config = testConfig().pipelines[0];
    assert.ok(config);
    // 2026-11-23T23:30Z is already 24 Nov in Paris.
    const frozen = { ...config, freeze: [{ from: "2026-11-24", to: "2026-11-24" }] };
    const at = (iso: string) => deps({ clock: { now: () => Date.parse(iso) } });

    assert.equal(
      (await startPipeline(frozen, TICK, at("2026-11-23T23:30:00Z"))).outcome,
      "skipped-freeze",
    );
    assert.equal(
      (await startPipeline(frozen, TICK, at("2026-11-23T22:30:00Z"))).outcome,
      "started",
    );
  });

  it("decides the freeze on our clock: a tick dated before the freeze, delivered inside it, starts nothing", async () => {
    enabledAndIdle();
    const config = testConfig('freeze: [{ from: "2026-11-20", to: "2026-11-25" }]');

    // Anyone allowed to invoke the function can write any scheduledTime.
    const result = await startPipeline(
      pipelineNamed("base"),
      "2026-11-19T02:00:00Z",
      deps({ config }),
    );

    assert.equal(result.outcome, "skipped-freeze");
    assert.equal(result.decidedAt, "2026-11-23T09:41:27.512Z");
    assert.equal(imageBuilder.calls().length, 0);
  });

  it("starts a late retry of a tick from inside a freeze once the freeze is over, with the tick's own token", async () => {
    enabledAndIdle();
    const config = testConfig('freeze: [{ from: "2026-11-20", to: "2026-11-22" }]');
    const scheduled = "2026-11-22T02:00:00Z";

    // Scheduler retries a failed delivery for up to 24 hours: it arrives after the freeze ended.
    const result = await startPipeline(pipelineNamed("base"), scheduled, deps({ config }));

    assert.equal(result.outcome, "started");
    assert.equal(result.scheduledTime, scheduled);
    assert.equal(result.clientToken, pipelineClientToken(pipelineArn("base"), scheduled));
  });

  it("reports a busy pipeline (ResourceInUseException) as building", async () => {
    enabledAndIdle();
    imageBuilder
      .on(StartImagePipelineExecutionCommand)
      .rejects(new ResourceInUseException({ message: "pipeline is executing", $metadata: {} }));

    const result = await startPipeline(pipelineNamed("base"), TICK, deps());

    assert.equal(result.outcome, "skipped-building");
    assert.match(result.reason ?? "", /pipeline is executing/);
  });

  it("turns an error into a failed result with a hint, never a throw", async () => {
    imageBuilder
      .on(GetImagePipelineCommand)
      .rejects(new ResourceNotFoundException({ message: "no such pipeline", $metadata: {} }));

    const result = await startPipeline(pipelineNamed("base"), TICK, deps());

    assert.equal(result.outcome, "failed");
    assert.match(result.reason ?? "", /ResourceNotFoundException: no such pipeline/);
    assert.match(result.reason ?? "", /check pipelines\[\]\.arn/);
  });

  it("uses the current minute as the scheduled time of a manual run", async () => {
    enabledAndIdle();

    const result = await startPipeline(pipelineNamed("base"), undefined, deps());

    assert.equal(result.scheduledTime, "2026-11-23T09:41:00.000Z");
    assert.equal(result.decidedAt, "2026-11-23T09:41:27.512Z");
    assert.equal(
      result.clientToken,
      pipelineClientToken(pipelineArn("base"), "2026-11-23T09:41:00.000Z"),
    );
  });
});

describe("startPipelines", () => {
  beforeEach(() => imageBuilder.reset());

  it("one pipeline failing does not hide the others' results", async () => {
    enabledAndIdle();
    imageBuilder
      .on(GetImagePipelineCommand, { imagePipelineArn: pipelineArn("web", "eu-west-3") })
      .rejects(new Error("boom"));

    const results = await startPipelines(["base", "web", "ghost"], TICK, deps());

    assert.deepEqual(
      results.map((result) => [result.pipeline, result.outcome]),
      [
        ["base", "started"],
        ["web", "failed"],
        ["ghost", "failed"],
      ],
    );
    assert.match(results[2]?.reason ?? "", /unknown pipeline "ghost" \(configured: base, web\)/);
  });
});
