import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getTarget, listGroups } from "../../lib/rollout/store.ts";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import { buildImage, onePipelineConfig, REGION } from "../helpers/sandbox-scenario.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";
import { DEV_ACCOUNT as DEV } from "../helpers/target-account.ts";

/** The strategy that keeps instances and swaps their root volume (user guide, replace-root-volume). */
const CONFIG = onePipelineConfig({
  account: "dev",
  rollout: ["instanceRefresh: { minHealthyPercentage: 90, strategy: ReplaceRootVolume }"],
});

describe("the ReplaceRootVolume strategy, in the sandbox", () => {
  let rrv: SandboxGroup;
  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" }, ({ world }) => {
    const app = [...world.autoScaling.groups.values()].find(
      (group) => group.name === "base-al2023-app",
    ) as SandboxGroup;
    const previous = app.runningImageId ?? "";
    const template = world.ec2.addLaunchTemplate({
      accountId: DEV,
      region: REGION,
      name: "rrv-lt",
      imageId: previous,
      tags: { "ami-orchestrator:managed": "true" },
    });
    // Every override names its AMI, as the strategy requires; the group follows $Default.
    rrv = world.autoScaling.addGroup({
      ...app,
      name: "rrv",
      runningImageId: previous,
      mixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: template.id, Version: "$Default" },
          Overrides: [
            { InstanceType: "m7i.large", ImageId: previous },
            { InstanceType: "m6i.large", ImageId: previous },
          ],
        },
      },
    });
    delete (rrv as { launchTemplate?: unknown }).launchTemplate;
  });

  it("replaces root volumes with the new AMI on every override, the group pinned first; groups that cannot take it are reported", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    const image = await buildImage(sandbox.session);
    const newAmi = image?.amis.find((ami) => ami.accountId === DEV)?.image;
    await lambda.run(world.clock.now() + 3 * 3600_000);

    const start = world.calls.find(
      (call) =>
        call.operation === "StartInstanceRefresh" &&
        !call.error &&
        (call.input as { AutoScalingGroupName?: string }).AutoScalingGroupName === "rrv",
    )?.input as { Strategy?: string } | undefined;
    assert.equal(start?.Strategy, "ReplaceRootVolume");
    assert.deepEqual(
      world.autoScaling.launchPathImages(rrv).map((path) => path.imageId === newAmi),
      [true, true, true],
    );
    const records = await listGroups(dynamo.db, dynamo.table, image?.arn ?? "", {
      accountId: DEV,
      region: REGION,
    });
    assert.equal(records.find((group) => group.group === "rrv")?.status, "succeeded");
    const target = await getTarget(dynamo.db, dynamo.table, image?.arn ?? "", {
      accountId: DEV,
      region: REGION,
    });
    // The plain group has no mixed instances policy: reported, never rolled another way.
    assert.match(
      target?.unsupportedGroups?.find((group) => group.name === "base-al2023-app")?.reason ?? "",
      /ReplaceRootVolume strategy needs a mixed instances policy/,
    );
    assert.ok(
      !world.autoScaling.refreshes.some((refresh) => refresh.group.name === "base-al2023-app"),
    );
  });
});
