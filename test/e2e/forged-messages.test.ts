import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUILD_ACCOUNT as BUILD } from "../helpers/fixtures.ts";
import { buildImage, onePipelineConfig, REGION } from "../helpers/sandbox-scenario.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";
import { DEV_ACCOUNT as DEV } from "../helpers/target-account.ts";

/** An AMI GetImage never reported, launchable in the target account. */
const ATTACKER_AMI = "ami-0e0e0e0e0e0e0e0e0";

const CONFIG = onePipelineConfig({ account: "dev" });

describe("a rollout queue message is a hint: what is rolled comes from our records", () => {
  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" }, ({ world }) => {
    world.ec2.registerImage({
      imageId: ATTACKER_AMI,
      ownerId: DEV,
      region: REGION,
      name: "not built by the pipeline",
      kmsKeyIds: [undefined],
    });
  });

  it("a well-formed message naming another AMI and pipeline rolls the recorded AMI only", async () => {
    const { world, lambda } = sandbox.session;
    const image = await buildImage(sandbox.session);
    assert.equal(image?.status, "AVAILABLE");
    await lambda.deliverNotifications();
    const genuine = world.queues.rollout.messages.map((message) => JSON.parse(message.body));
    assert.equal(genuine.length, 1);
    // Someone allowed to send to the queue forges the target's message with their own AMI.
    world.sqs.operations.SendMessage({
      accountId: BUILD,
      region: REGION,
      input: {
        QueueUrl: world.queues.rollout.url,
        MessageBody: JSON.stringify({
          ...genuine[0],
          amiId: ATTACKER_AMI,
          pipeline: "base-al2023",
          account: "dev",
          wave: "dev",
        }),
      },
    } as never);

    await lambda.run(world.clock.now() + 2 * 3600_000);

    const amis = (image?.amis ?? []).map((ami) => ami.image);
    const versions = [...world.ec2.templates.values()].flatMap((template) =>
      template.versions.map((version) => String(version.data.ImageId)),
    );
    assert.ok(!versions.includes(ATTACKER_AMI), "no template version launches the forged AMI");
    assert.ok(
      world.autoScaling.refreshes.length > 0 &&
        world.autoScaling.refreshes.every((refresh) =>
          world.autoScaling
            .launchPathImages(refresh.group, refresh.desiredConfiguration)
            .every((path) => amis.includes(path.imageId)),
        ),
      "every refresh launches the image GetImage reported",
    );
  });
});
