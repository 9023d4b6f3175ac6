import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import {
  describeImageFacts,
  planOverrideImages,
} from "../../../lib/auto-scaling/override-images.ts";

const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.4.0/7";
const NEW = "ami-0new";
const facts = new Map([
  [NEW, { architecture: "x86_64" }],
  ["ami-0old", { architecture: "x86_64" }],
  [
    "ami-0tagged",
    {
      architecture: "x86_64",
      builtAs: "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.3.0/2",
    },
  ],
  [
    "ami-0ourarm",
    {
      architecture: "arm64",
      builtAs: "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/0.9.0/1",
    },
  ],
  [
    "ami-0theirs",
    {
      architecture: "arm64",
      builtAs: "arn:aws:imagebuilder:eu-west-1:999999999999:image/other/3.0.0/1",
    },
  ],
]);
const plan = (overrideImageIds: string[], known: string[] = []) =>
  planOverrideImages({ overrideImageIds }, { amiId: NEW, imageArn: IMAGE }, new Set(known), facts);

describe("the AMIs a group's overrides name", () => {
  it("replaces one the group's template (or our records) knows as an earlier image of the pipeline", () => {
    assert.deepEqual([...plan(["ami-0old"], ["ami-0old"]).replacements], [["ami-0old", NEW]]);
  });

  it("replaces one Image Builder tagged as an image of the same recipe", () => {
    assert.deepEqual([...plan(["ami-0tagged"]).replacements], [["ami-0tagged", NEW]]);
  });

  it("leaves another pipeline's AMI alone, and says so", () => {
    const result = plan(["ami-0theirs"]);
    assert.equal(result.replacements.size, 0);
    assert.match(
      result.kept[0]?.reason ?? "",
      /ami-0theirs \(arm64\) is not an image of this pipeline/,
    );
  });

  it("blocks the group when an earlier image of the pipeline has another architecture", () => {
    const result = plan(["ami-0old", "ami-0ourarm"], ["ami-0old"]);
    assert.match(result.blocked[0]?.reason ?? "", /ami-0ourarm \(arm64\).*ami-0new is x86_64/);
  });

  it("an AMI not visible in the account is kept and named, never guessed to be ours", () => {
    assert.match(plan(["ami-0gone"]).kept[0]?.reason ?? "", /not visible/);
  });
});

describe("describing override AMIs", () => {
  const ec2 = mockClient(EC2Client);
  beforeEach(() => ec2.reset());

  it("asks by filter (a missing id is absent, not an error), deprecated and disabled included", async () => {
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: "ami-0tagged",
          Architecture: "x86_64",
          Tags: [{ Key: "Ec2ImageBuilderArn", Value: "arn:x:image/base-al2023/1.3.0/2" }],
        },
      ],
    });
    const described = await describeImageFacts(new EC2Client({}), ["ami-0tagged", "ami-0gone"]);
    assert.deepEqual(Object.fromEntries(described), {
      "ami-0tagged": { architecture: "x86_64", builtAs: "arn:x:image/base-al2023/1.3.0/2" },
    });
    const input = ec2.commandCalls(DescribeImagesCommand)[0]?.args[0].input;
    assert.deepEqual(input?.Filters, [{ Name: "image-id", Values: ["ami-0tagged", "ami-0gone"] }]);
    assert.equal(input?.ImageIds, undefined);
    assert.equal(input?.IncludeDeprecated, true);
    assert.equal(input?.IncludeDisabled, true);
  });
});
