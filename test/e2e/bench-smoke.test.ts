import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchRollout } from "../../bench/rollout.ts";
import { SMOKE, smokeProblems } from "../../bench/sized.ts";

/** `npm run bench -- --smoke`, in process: the bench cannot rot unnoticed. */
describe("the rollout bench, at its smoke size", () => {
  it("measures a whole rollout through the sandbox that ends with every group on its new AMI", async () => {
    const result = await benchRollout(SMOKE);
    assert.deepEqual(smokeProblems({ ...result }), []);
    assert.equal(result.targets, SMOKE.targets);
    assert.equal(result.waves, SMOKE.waves);
    assert.equal(result.finished, true);
    // Each group needs at least its refresh; each target and group at least one item written.
    assert.ok(result.awsCalls >= result.groups, `${result.awsCalls} AWS calls`);
    assert.ok(result.dynamoItemsWritten >= result.targets + result.groups);
    assert.ok(result.dynamoItemsRead > 0);
    assert.ok(result.largestItemBytes > 0 && result.largestItemBytes <= 400 * 1024);
    assert.equal(result.deadLettered, 0);
    assert.ok(result.cpuMs > 0 && result.wallMs > 0 && result.peakRssMb > 0);
  });
});
