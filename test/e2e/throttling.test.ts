import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRollout } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const FLEET = "111111111111";
const BUILD = "999999999999";
const PIPELINE = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/golden`;
const GROUPS = Array.from({ length: 80 }, (_, index) => `app-${String(index).padStart(2, "0")}`);
const MINUTE = 60_000;

/**
 * One account and region with 80 groups: every group's calls land on the same per-account,
 * per-Region buckets (Auto Scaling's shared one, EC2's per-action ones), far beyond their burst.
 * The buckets refill in real time as well as simulated time (SandboxWorld.throttleLikeAws), so
 * this takes about a minute: the time AWS's refill rates impose on these calls.
 */
const CONFIG = `
accounts:
  fleet: { id: "${FLEET}", externalId: ext-fleet-01, regions: [eu-west-1] }
pipelines:
  - name: golden
    arn: ${PIPELINE}
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications
    rollout:
      waves: [{ name: all, accounts: [fleet] }]
      autoScalingGroups: { names: [${GROUPS.join(", ")}] }
      launchTemplate: { setDefaultVersion: true }
      grantPropagationSeconds: 60
`;

describe("a rollout under AWS's documented request throttling, in the sandbox", () => {
  const sandbox = sandboxSuite(CONFIG, {
    start: "2026-11-23T01:00:00Z",
    throttling: "aws-documented",
  });

  it("is throttled, retries, and still rolls every group out, with nothing failed for good", async () => {
    const { world, lambda, handlers, dynamo } = sandbox.session;
    await handlers.startPipelines(
      { pipeline: "golden", scheduledTime: "2026-11-23T01:00:00Z" },
      fakeContext("start-pipelines"),
    );
    world.clock.advance(40 * MINUTE);
    const image = world.imageBuilder.imagesOf(PIPELINE).at(-1);
    assert.ok(image);
    assert.equal(image.status, "AVAILABLE");

    await lambda.run(world.clock.now() + 4 * 60 * MINUTE);

    // The model bites: some calls found their bucket empty.
    assert.ok(world.throttled > 0, "some calls were throttled");
    const throttledBuckets = [...(world.throttle?.throttledByBucket.keys() ?? [])];
    assert.ok(
      throttledBuckets.every((key) => key.includes(`|${FLEET}|`)),
      `only the fleet account's buckets ran dry: ${throttledBuckets.join(", ")}`,
    );
    // Yet nothing failed for good: the rollout succeeded, every group runs the new AMI, and no
    // message was dead-lettered.
    const state = await loadRollout(dynamo.db, dynamo.table, image.arn);
    assert.equal(state?.record.status, "succeeded", state?.record.reason);
    const groups = [...world.autoScaling.groups.values()].filter((group) =>
      GROUPS.includes(group.name),
    );
    assert.equal(groups.length, GROUPS.length);
    const newAmi = image.amis.find((ami) => ami.accountId === FLEET)?.image;
    assert.ok(newAmi);
    for (const group of groups) assert.equal(group.runningImageId, newAmi, group.name);
    assert.equal(world.queues.deadLetter.messages.length, 0, "nothing dead-lettered");
  });
});
