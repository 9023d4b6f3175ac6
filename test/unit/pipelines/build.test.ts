import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  GetImagePipelineCommand,
  ImagebuilderClient,
  ListImagePipelineImagesCommand,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import {
  type BuildTarget,
  buildClientToken,
  renderBuildResult,
  startChangedBuilds,
} from "../../../lib/pipelines/build.ts";

const imageBuilder = mockClient(ImagebuilderClient);
afterEach(() => imageBuilder.reset());

const ARN = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/golden";
const HASH = "c".repeat(64);
const OLD = "a".repeat(64);
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const target: BuildTarget = { name: "golden", arn: ARN, inputHash: HASH };
const context = {
  commit: COMMIT,
  ref: "refs/heads/main",
  repository: "https://github.com/acme/images",
};
const client = () => new ImagebuilderClient({ region: "eu-west-1" });

const deployedWith = (hash: string) =>
  imageBuilder
    .on(GetImagePipelineCommand, { imagePipelineArn: ARN })
    .resolves({ imagePipeline: { arn: ARN, tags: { "ami-orchestrator:input-hash": hash } } });

const image = (
  version: string,
  hash: string | undefined,
  dateCreated: string,
  status = "AVAILABLE",
) => ({
  arn: `arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/${version}`,
  version,
  dateCreated,
  state: { status: status as "AVAILABLE" },
  ...(hash ? { tags: { "ami-orchestrator:input-hash": hash } } : {}),
});

describe("build --changed", () => {
  it("starts a pipeline whose inputs changed, tagging the image with the commit, ref, repository and hash", async () => {
    deployedWith(HASH);
    imageBuilder
      .on(ListImagePipelineImagesCommand)
      .resolves({ imageSummaryList: [image("1.0.1/1", OLD, "2026-11-01T03:00:00Z")] });
    imageBuilder
      .on(StartImagePipelineExecutionCommand)
      .resolves({ imageBuildVersionArn: `${ARN.replace("image-pipeline", "image")}/1.0.2/1` });

    const [result] = await startChangedBuilds(client(), [target], context);

    assert.equal(result?.outcome, "started");
    const input = imageBuilder.commandCalls(StartImagePipelineExecutionCommand)[0]?.args[0].input;
    assert.deepEqual(input, {
      imagePipelineArn: ARN,
      clientToken: `0123456789ab-${"c".repeat(16)}`,
      tags: {
        "ami-orchestrator:input-hash": HASH,
        "ami-orchestrator:commit": COMMIT,
        "ami-orchestrator:ref": "refs/heads/main",
        "ami-orchestrator:repository": "https://github.com/acme/images",
      },
    });
  });

  it("starts nothing when the last image was built from the same inputs: a re-run of the job", async () => {
    deployedWith(HASH);
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({
      imageSummaryList: [
        image("1.0.1/1", OLD, "2026-11-01T03:00:00Z"),
        image("1.0.2/1", HASH, "2026-11-02T03:00:00Z", "BUILDING"),
      ],
    });
    const [result] = await startChangedBuilds(client(), [target], context);
    assert.equal(result?.outcome, "unchanged");
    assert.equal(imageBuilder.commandCalls(StartImagePipelineExecutionCommand).length, 0);
    assert.match(
      renderBuildResult(result ?? assert.fail()),
      /nothing to build, unchanged since .*1\.0\.2\/1/,
    );
  });

  it("reads every page of images and compares with the newest", async () => {
    deployedWith(HASH);
    imageBuilder
      .on(ListImagePipelineImagesCommand)
      .resolves({
        imageSummaryList: [image("1.0.2/1", HASH, "2026-11-02T03:00:00Z")],
        nextToken: "2",
      })
      .on(ListImagePipelineImagesCommand, { imagePipelineArn: ARN, nextToken: "2" })
      .resolves({ imageSummaryList: [image("1.0.3/1", OLD, "2026-11-03T03:00:00Z")] });
    imageBuilder.on(StartImagePipelineExecutionCommand).resolves({ imageBuildVersionArn: "new" });
    const [result] = await startChangedBuilds(client(), [target], context);
    assert.equal(imageBuilder.commandCalls(ListImagePipelineImagesCommand).length, 2);
    assert.equal(result?.outcome, "started", "the newest image (page 2) has other inputs");
  });

  it("starts a pipeline that has no image yet", async () => {
    deployedWith(HASH);
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({ imageSummaryList: [] });
    imageBuilder.on(StartImagePipelineExecutionCommand).resolves({ imageBuildVersionArn: "first" });
    const [result] = await startChangedBuilds(client(), [target], context);
    assert.equal(result?.outcome, "started");
  });

  it("starts nothing on a pipeline not yet deployed with these inputs", async () => {
    deployedWith(OLD);
    const [result] = await startChangedBuilds(client(), [target], context);
    assert.equal(result?.outcome, "not-deployed");
    assert.match(
      renderBuildResult(result ?? assert.fail()),
      /runs input aaaaaaaaaaaaaaaa, the definitions say cccccccccccccccc: deploy first/,
    );
    assert.equal(imageBuilder.commandCalls(StartImagePipelineExecutionCommand).length, 0);
  });

  it("reports one pipeline's failure and still builds the others", async () => {
    const other = { name: "silver", arn: ARN.replace("golden", "silver"), inputHash: HASH };
    imageBuilder
      .on(GetImagePipelineCommand, { imagePipelineArn: ARN })
      .rejects(Object.assign(new Error("throttled"), { name: "ThrottlingException" }));
    imageBuilder.on(GetImagePipelineCommand, { imagePipelineArn: other.arn }).resolves({
      imagePipeline: { tags: { "ami-orchestrator:input-hash": HASH } },
    });
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({ imageSummaryList: [] });
    imageBuilder.on(StartImagePipelineExecutionCommand).resolves({ imageBuildVersionArn: "x" });
    const results = await startChangedBuilds(client(), [target, other], context);
    assert.deepEqual(
      results.map((result) => result.outcome),
      ["failed", "started"],
    );
  });

  it("derives a client token of at most 64 characters from the commit and the inputs", () => {
    const token = buildClientToken(HASH, COMMIT);
    assert.ok(token.length <= 64);
    assert.equal(buildClientToken(HASH, COMMIT), token, "the same job asks for the same build");
    assert.notEqual(buildClientToken(OLD, COMMIT), token);
    assert.notEqual(buildClientToken(HASH, `f${COMMIT.slice(1)}`), token);
    assert.ok(buildClientToken(HASH).length <= 64);
  });
});
