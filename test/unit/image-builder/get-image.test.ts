import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GetImageCommand, ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import {
  MAX_AMIS,
  parseImageStateEvent,
  parseImageStateEventBridge,
} from "../../../lib/events/image-state.ts";
import { completeFromGetImage, regionOfImageArn } from "../../../lib/image-builder/get-image.ts";
import { loadEvent } from "../../helpers/fixtures.ts";

describe("completing an EventBridge image state change with GetImage", () => {
  it("adds the pipeline and the distributed AMIs that only GetImage has", async () => {
    const change = parseImageStateEventBridge(
      loadEvent("imagebuilder-eventbridge-image-available"),
    );
    const imageBuilder = mockClient(ImagebuilderClient);
    imageBuilder.on(GetImageCommand, { imageBuildVersionArn: change.imageArn }).resolves({
      image: {
        sourcePipelineArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023",
        name: "base-al2023",
        version: "1.4.0",
        state: { status: "AVAILABLE" },
        outputResources: {
          amis: [
            { region: "eu-west-1", image: "ami-0aaa", accountId: "111111111111", name: "x" },
            { region: "eu-west-3", image: "ami-0bbb" }, // no accountId: not usable, dropped
          ],
        },
      },
    });

    const image = await completeFromGetImage(new ImagebuilderClient({}), change);

    assert.equal(
      image.pipelineArn,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023",
    );
    assert.deepEqual(image.amis, [
      { region: "eu-west-1", image: "ami-0aaa", accountId: "111111111111", name: "x" },
    ]);
    assert.equal(image.source, "eventbridge");
    assert.equal(regionOfImageArn(change.imageArn), "eu-west-1");
    imageBuilder.restore();
  });

  it("keeps nothing an SNS message claimed: AMIs, distributions, pipeline and status come from GetImage", async () => {
    const [change] = parseImageStateEvent(loadEvent("imagebuilder-sns-available"));
    assert.ok(change?.amis?.length, "the sample message lists AMIs");
    const imageBuilder = mockClient(ImagebuilderClient);
    imageBuilder.on(GetImageCommand).resolves({
      image: {
        sourcePipelineArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/other",
        state: { status: "DEPRECATED" },
      },
    });

    const image = await completeFromGetImage(new ImagebuilderClient({}), change);

    assert.deepEqual(
      {
        amis: image.amis,
        distributions: image.distributions,
        pipelineArn: image.pipelineArn,
        status: image.status,
        notifiedStatus: image.notifiedStatus,
        topicArn: image.topicArn,
      },
      {
        amis: [],
        distributions: undefined,
        pipelineArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/other",
        status: "DEPRECATED",
        notifiedStatus: "AVAILABLE",
        topicArn: "arn:aws:sns:eu-west-1:999999999999:imagebuilder-notifications",
      },
    );
    imageBuilder.restore();
  });
  it("keeps the image's tags and the recipe it was built from, for the rollout's lineage", async () => {
    const change = parseImageStateEventBridge(
      loadEvent("imagebuilder-eventbridge-image-available"),
    );
    const recipe = "arn:aws:imagebuilder:eu-west-1:999999999999:image-recipe/base-al2023/1.0.1";
    const imageBuilder = mockClient(ImagebuilderClient);
    imageBuilder.on(GetImageCommand).resolves({
      image: {
        state: { status: "AVAILABLE" },
        tags: { "ami-orchestrator:commit": "3f2a9c1d0e4b" },
        imageRecipe: {
          arn: recipe,
          name: "base-al2023",
          version: "1.0.1",
          tags: { "ami-orchestrator:commit": "0ld" },
        },
      },
    });

    const image = await completeFromGetImage(new ImagebuilderClient({}), change);

    assert.deepEqual(image.tags, { "ami-orchestrator:commit": "3f2a9c1d0e4b" });
    assert.deepEqual(image.recipe, {
      arn: recipe,
      name: "base-al2023",
      version: "1.0.1",
      tags: { "ami-orchestrator:commit": "0ld" },
    });
    imageBuilder.restore();
  });

  it("refuses an AMI list longer than any distribution configuration can produce", async () => {
    const change = parseImageStateEventBridge(
      loadEvent("imagebuilder-eventbridge-image-available"),
    );
    const ami = (index: number) => ({
      region: "eu-west-1",
      image: `ami-${index.toString(16).padStart(17, "0")}`,
      accountId: String(100_000_000_000 + index),
    });
    const answer = (count: number) => ({
      image: {
        state: { status: "AVAILABLE" as const },
        outputResources: { amis: Array.from({ length: count }, (_, index) => ami(index)) },
      },
    });
    const imageBuilder = mockClient(ImagebuilderClient);

    imageBuilder
      .on(GetImageCommand)
      .resolvesOnce(answer(MAX_AMIS))
      .resolvesOnce(answer(MAX_AMIS + 1));
    const largest = await completeFromGetImage(new ImagebuilderClient({}), change);

    assert.equal(MAX_AMIS, 64 * 1537, "64 regions × (1,536 target accounts + the build account)");
    assert.equal(largest.amis.length, MAX_AMIS);
    await assert.rejects(
      completeFromGetImage(new ImagebuilderClient({}), change),
      /lists 98369 AMIs, more than the 98368/,
    );
    imageBuilder.restore();
  });
});
