import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import {
  GetImageCommand,
  GetImageRecipeCommand,
  ImagebuilderClient,
  ListImagePipelineImagesCommand,
  ListWorkflowExecutionsCommand,
} from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import { compareRecipes } from "../../../lib/alerts/changed-components.ts";
import { describeAlert } from "../../../lib/alerts/describe.ts";
import { diagnoseBuildFailure } from "../../../lib/alerts/diagnose.ts";
import { renderEmail } from "../../../lib/alerts/render.ts";

const BASE = "arn:aws:imagebuilder:eu-west-1:999999999999";
const PIPELINE = `${BASE}:image-pipeline/base-al2023`;
const FAILED = `${BASE}:image/base-al2023/1.0.2/1`;
const GOOD = `${BASE}:image/base-al2023/1.0.1/1`;
const OLDER = `${BASE}:image/base-al2023/1.0.0/1`;
const UPDATE_LINUX = "arn:aws:imagebuilder:eu-west-1:aws:component/update-linux/x.x.x";
const component = (name: string, version: string) => ({
  componentArn: `${BASE}:component/${name}/${version}`,
});
const recipe = (version: string, components: Array<{ componentArn: string }>) => ({
  arn: `${BASE}:image-recipe/base-al2023/${version}`,
  components,
});

const imageBuilder = mockClient(ImagebuilderClient);
const logs = mockClient(CloudWatchLogsClient);
const deps = () => ({
  imageBuilder: new ImagebuilderClient({ region: "eu-west-1" }),
  logs: new CloudWatchLogsClient({ region: "eu-west-1" }),
  timeoutMs: 500,
});

/** The failed image, built by build --changed for a commit, and the pipeline's earlier images. */
const arrange = () => {
  imageBuilder.on(GetImageCommand, { imageBuildVersionArn: FAILED }).resolves({
    image: {
      arn: FAILED,
      name: "base-al2023",
      sourcePipelineArn: PIPELINE,
      state: { status: "FAILED", reason: "Component 'base-al2023-harden-ssh' exited 1" },
      tags: {
        "ami-orchestrator:commit": "3f2a9c1d0e4b5a6978812345678901234567890a",
        "ami-orchestrator:ref": "refs/heads/main",
      },
      imageRecipe: recipe("1.0.2", [
        { componentArn: UPDATE_LINUX },
        component("base-al2023-baseline-packages", "1.0.0/1"),
        component("base-al2023-harden-ssh", "1.1.0/2"),
        component("base-al2023-audit", "1.0.0/1"),
      ]),
    },
  });
  // Two pages; the newest AVAILABLE one is on the second, a newer FAILED one on the first.
  imageBuilder
    .on(ListImagePipelineImagesCommand, { imagePipelineArn: PIPELINE })
    .resolves({
      imageSummaryList: [
        { arn: FAILED, state: { status: "FAILED" }, dateCreated: "2026-11-24T10:00:00Z" },
        { arn: OLDER, state: { status: "AVAILABLE" }, dateCreated: "2026-11-20T10:00:00Z" },
      ],
      nextToken: "page-2",
    })
    .on(ListImagePipelineImagesCommand, { imagePipelineArn: PIPELINE, nextToken: "page-2" })
    .resolves({
      imageSummaryList: [
        { arn: GOOD, state: { status: "AVAILABLE" }, dateCreated: "2026-11-23T10:00:00Z" },
      ],
    });
  // The last good image names its recipe only: its components come from GetImageRecipe.
  imageBuilder.on(GetImageCommand, { imageBuildVersionArn: GOOD }).resolves({
    image: { arn: GOOD, imageRecipe: { arn: `${BASE}:image-recipe/base-al2023/1.0.1` } },
  });
  imageBuilder
    .on(GetImageRecipeCommand, { imageRecipeArn: `${BASE}:image-recipe/base-al2023/1.0.1` })
    .resolves({
      imageRecipe: recipe("1.0.1", [
        { componentArn: UPDATE_LINUX },
        component("base-al2023-baseline-packages", "1.0.0/1"),
        component("base-al2023-harden-ssh", "1.1.0/1"),
        component("base-al2023-boot-checks", "1.0.0/1"),
      ]),
    });
  imageBuilder.on(ListWorkflowExecutionsCommand).resolves({ workflowExecutions: [] });
};

describe("a build-failure alert names the commit and what changed since the last good image", () => {
  afterEach(() => {
    imageBuilder.reset();
    logs.reset();
  });

  it("compares the failed recipe's components with the last AVAILABLE image's, by version and build", async () => {
    arrange();

    const diagnosis = await diagnoseBuildFailure(FAILED, deps(), { pipelineArn: PIPELINE });

    assert.equal(diagnosis.commit, "3f2a9c1d0e4b5a6978812345678901234567890a");
    assert.equal(diagnosis.commitOf, "build");
    assert.equal(diagnosis.ref, "refs/heads/main");
    assert.deepEqual(diagnosis.changes, {
      since: GOOD,
      components: [
        { component: "base-al2023-harden-ssh", from: "1.1.0/1", to: "1.1.0/2" },
        { component: "base-al2023-audit", to: "1.0.0/1" },
        { component: "base-al2023-boot-checks", from: "1.0.0/1" },
      ],
    });
    assert.equal(diagnosis.unavailable, undefined);
  });

  it("says so in the alert: the commit as a fact, the components in the details", async () => {
    arrange();
    const diagnosis = await diagnoseBuildFailure(FAILED, deps(), { pipelineArn: PIPELINE });

    const story = describeAlert({
      kind: "build-failed",
      imageArn: FAILED,
      pipeline: "base-al2023",
      pipelineArn: PIPELINE,
      diagnosis,
    });

    assert.deepEqual(
      story.facts.find(([name]) => name === "Commit"),
      ["Commit", "3f2a9c1d0e4b (refs/heads/main)"],
    );
    assert.equal(
      story.details[0],
      "Components changed since base-al2023/1.0.1/1 (the last AVAILABLE image): base-al2023-harden-ssh 1.1.0/1 → 1.1.0/2; base-al2023-audit added (1.0.0/1); base-al2023-boot-checks taken out (was 1.0.0/1)",
    );
    assert.match(renderEmail(story).body, /base-al2023-harden-ssh 1\.1\.0\/1 → 1\.1\.0\/2/);
  });

  it("says when there is no earlier AVAILABLE image, and when nothing in the recipe changed", () => {
    const first = describeAlert({
      kind: "build-failed",
      imageArn: FAILED,
      diagnosis: { changes: { components: [] } },
    });
    assert.equal(
      first.details[0],
      "No earlier AVAILABLE image of this pipeline to compare the recipe with.",
    );
    const same = describeAlert({
      kind: "build-failed",
      imageArn: FAILED,
      diagnosis: { changes: { since: GOOD, components: [] } },
    });
    assert.match(same.details[0] ?? "", /^Same components as base-al2023\/1\.0\.1\/1/);
  });

  it("leaves wildcard components alone: the same ARN is no change", () => {
    assert.deepEqual(
      compareRecipes(
        recipe("1.0.0", [{ componentArn: UPDATE_LINUX }]),
        recipe("1.0.1", [{ componentArn: UPDATE_LINUX }]),
      ),
      [],
    );
  });

  it("still alerts when the images cannot be listed, and says what it could not find out", async () => {
    arrange();
    imageBuilder
      .on(ListImagePipelineImagesCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));

    const diagnosis = await diagnoseBuildFailure(FAILED, deps(), { pipelineArn: PIPELINE });

    assert.equal(diagnosis.changes, undefined);
    assert.equal(diagnosis.commit, "3f2a9c1d0e4b5a6978812345678901234567890a");
    assert.match(
      diagnosis.unavailable?.join("; ") ?? "",
      /components changed since the last AVAILABLE image \(AccessDeniedException: not authorized\)/,
    );
  });
});
