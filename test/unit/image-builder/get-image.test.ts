import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GetImageCommand, ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import {
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
});
