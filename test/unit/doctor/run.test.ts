import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import {
  GetImageCommand,
  ImagebuilderClient,
  ListImagePipelineImagesCommand,
} from "@aws-sdk/client-imagebuilder";
import { KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { parseConfig } from "../../../lib/config/load.ts";
import { runDoctor } from "../../../lib/doctor/checks.ts";

const REGIONS = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1"];
const pipeline = (name: string) => `
  - name: ${name}
    arn: arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/${name}
    rollout:
      waves: [{ name: all, accounts: [big, small] }]
      autoScalingGroups: { tags: { app: ${name} } }`;
const CONFIG = `
accounts:
  big: { id: "111111111111", externalId: ext-big-01, regions: [${REGIONS.join(", ")}] }
  small: { id: "222222222222", externalId: ext-small-01, regions: [eu-west-1] }
pipelines:${pipeline("base")}${pipeline("web")}
`;

describe("runDoctor", () => {
  it("checks at most perAccountConcurrency targets of one account at once, across every pipeline", async () => {
    const imageBuilder = mockClient(ImagebuilderClient);
    imageBuilder.on(ListImagePipelineImagesCommand).resolves({ imageSummaryList: [] });
    const autoScaling = mockClient(AutoScalingClient);
    const accountOf = new WeakMap<object, string>();
    const inFlight = new Map<string, number>();
    const peak = new Map<string, number>();
    autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake(async (_input, getClient) => {
      const accountId = accountOf.get(getClient()) ?? "?";
      inFlight.set(accountId, (inFlight.get(accountId) ?? 0) + 1);
      peak.set(accountId, Math.max(peak.get(accountId) ?? 0, inFlight.get(accountId) ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight.set(accountId, (inFlight.get(accountId) ?? 0) - 1);
      return { AutoScalingGroups: [] };
    });
    try {
      const report = await runDoctor({
        config: parseConfig(CONFIG, "doctor.yml"),
        perAccountConcurrency: 3,
        imageBuilder: () => new ImagebuilderClient({}),
        clients: {
          autoScaling: (account, region) => {
            const client = new AutoScalingClient({ region });
            accountOf.set(client, account.id);
            return client;
          },
          ec2: () => new EC2Client({}),
          kms: () => new KMSClient({}),
          iam: () => new IAMClient({}),
          ownerEc2: () => undefined,
        },
      });
      // 2 pipelines × (6 + 1) targets, each reported, in the plan's order.
      assert.deepEqual(
        report.pipelines.map((entry) => entry.targets.map((target) => target.region)),
        [
          [...REGIONS, "eu-west-1"],
          [...REGIONS, "eu-west-1"],
        ],
      );
      // 12 targets of "big" (both pipelines), never more than 3 at once; "small" beside them.
      assert.equal(peak.get("111111111111"), 3);
      assert.equal(peak.get("222222222222"), 2);
    } finally {
      autoScaling.restore();
      imageBuilder.restore();
    }
  });

  it("takes the newest AVAILABLE image by version then build number, not by dateCreated", async () => {
    const image = (name: string, version: string, dateCreated: string) => ({
      arn: `arn:aws:imagebuilder:eu-west-1:999999999999:image/${name}/${version}`,
      version,
      dateCreated,
      state: { status: "AVAILABLE" as const },
    });
    // dateCreated is not ISO ("Jul 28, 2022 1:13:45 AM"): as strings, July sorts after August.
    const listed: Record<string, ReturnType<typeof image>[]> = {
      base: [
        image("base", "1.0.9/3", "Jul 28, 2026 1:13:45 AM"),
        image("base", "1.0.10/1", "Aug 4, 2026 1:13:45 AM"),
      ],
      web: [
        image("web", "1.0.2/9", "Jul 30, 2026 2:00:00 AM"),
        image("web", "1.0.2/10", "Aug 1, 2026 2:00:00 AM"),
      ],
    };
    const imageBuilder = mockClient(ImagebuilderClient);
    imageBuilder.on(ListImagePipelineImagesCommand).callsFake((input) => ({
      imageSummaryList: listed[input.imagePipelineArn.split("/").at(-1)] ?? [],
    }));
    imageBuilder.on(GetImageCommand).callsFake((input) => ({
      image: {
        arn: input.imageBuildVersionArn,
        state: { status: "AVAILABLE" },
        outputResources: { amis: [] },
      },
    }));
    const autoScaling = mockClient(AutoScalingClient);
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    try {
      const report = await runDoctor({
        config: parseConfig(CONFIG, "doctor.yml"),
        imageBuilder: () => new ImagebuilderClient({}),
        clients: {
          autoScaling: (_account, region) => new AutoScalingClient({ region }),
          ec2: () => new EC2Client({}),
          kms: () => new KMSClient({}),
          iam: () => new IAMClient({}),
          ownerEc2: () => undefined,
        },
      });

      assert.deepEqual(
        report.pipelines.map((entry) => entry.imageArn?.split(":image/")[1]),
        ["base/1.0.10/1", "web/1.0.2/10"],
      );
    } finally {
      autoScaling.restore();
      imageBuilder.restore();
    }
  });
});
