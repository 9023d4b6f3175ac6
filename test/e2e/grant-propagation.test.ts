import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getTarget } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import { onePipelineConfig, BASE_PIPELINE as PIPELINE } from "../helpers/sandbox-scenario.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";
import { DEV_ACCOUNT as DEV } from "../helpers/target-account.ts";

const PROPAGATION_SECONDS = 120;

const CONFIG = onePipelineConfig({ account: "dev", grantPropagationSeconds: PROPAGATION_SECONDS });

describe("KMS grants that must propagate again, in the sandbox", () => {
  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" });

  /** Builds an image of the pipeline at `at` and runs everything for the next 3 hours. */
  const buildAndRollOut = async (at: string) => {
    const { world, handlers, lambda } = sandbox.session;
    world.clock.advanceTo(at);
    await handlers.startPipelines(
      { pipeline: "base-al2023", scheduledTime: at },
      fakeContext("start-pipelines"),
    );
    await lambda.run(Date.parse(at) + 3 * 3600_000);
    const image = world.imageBuilder.imagesOf(PIPELINE).at(-1);
    assert.equal(image?.status, "AVAILABLE");
    return image;
  };
  const devGrants = () => {
    const { world } = sandbox.session;
    return [...world.kms.keys.keys()]
      .flatMap((key) => world.kms.grantsOn(key))
      .filter((grant) => grant.granteePrincipal === slrArn(DEV));
  };
  const refreshesSince = (since: number) =>
    sandbox.session.world.autoScaling.refreshes.filter((refresh) => refresh.startTime >= since);

  it("a grant revoked after one rollout and created again by the next is waited for again", async () => {
    const { world, dynamo } = sandbox.session;
    await buildAndRollOut("2026-11-23T02:00:00.000Z");
    const [first] = devGrants();
    assert.ok(first, "the first rollout created the grant");

    // A month later someone revokes it; the next image's rollout creates it again, same Name.
    world.clock.advance(30 * 24 * 3600_000);
    assert.equal(world.kms.revokeGrants(first.keyArn, slrArn(DEV)), 1);
    const since = world.clock.now();
    const image = await buildAndRollOut(new Date(since + 60_000).toISOString());

    const [recreated] = devGrants();
    assert.ok(recreated && recreated.grantId !== first.grantId, "a new grant, with a new id");
    const refreshes = refreshesSince(since);
    assert.equal(refreshes.length, 2);
    for (const refresh of refreshes) {
      assert.ok(
        refresh.startTime >= recreated.createdAt + PROPAGATION_SECONDS * 1000,
        `${refresh.group.name} refreshed ${(refresh.startTime - recreated.createdAt) / 1000} s after the new grant`,
      );
      assert.equal(refresh.status, "Successful");
    }
    const target = await getTarget(dynamo.db, dynamo.table, image?.arn ?? "", {
      accountId: DEV,
      region: "eu-west-1",
    });
    assert.equal(target?.grants?.[0]?.grantId, recreated.grantId);
  });
});
