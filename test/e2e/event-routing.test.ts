import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getRollout } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const MINUTE = 60_000;
const PROD = "222222222222";
const BASE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023";

/**
 * Events reach the functions only through the rules deployed for them: a region without its
 * forwarding rule (templates/target-account-role.yml never deployed there) sends watch-rollouts
 * nothing, and the rollout still ends, seen by the 5-minute poll.
 */
describe("EventBridge routes target events through the deployed rules", () => {
  const sandbox = sandboxSuite(undefined, { start: "2026-11-23T01:59:00Z" });

  it("a region that does not forward: its refresh events never reach watch-rollouts; the poll ends the rollout", async () => {
    const { world, lambda, handlers, dynamo } = sandbox.session;
    for (const rule of world.events.rulesIn(PROD, "eu-west-3"))
      world.events.deleteRule(PROD, "eu-west-3", rule.name);

    await handlers.startPipelines(
      { pipeline: "base-al2023", scheduledTime: "2026-11-23T02:00:00.000Z" },
      fakeContext("start-pipelines"),
    );
    const image = world.imageBuilder.imagesOf(BASE).at(-1);
    assert.ok(image);
    await lambda.run(Date.parse("2026-11-23T07:00:00Z"));

    const refreshEvents = lambda.invocations
      .filter((invocation) => invocation.functionName === "watch-rollouts")
      .map(
        (invocation) => invocation.event as { source?: string; region?: string; account?: string },
      )
      .filter((event) => event.source === "aws.autoscaling");
    assert.ok(
      refreshEvents.some((event) => event.account === PROD && event.region === "eu-west-1"),
    );
    assert.ok(
      !refreshEvents.some((event) => event.account === PROD && event.region === "eu-west-3"),
      "nothing from the region without a forwarding rule",
    );
    const unrouted = lambda.unroutedEvents.map((entry) => entry.reason);
    assert.ok(unrouted.length >= 4, "Started and Succeeded of both eu-west-3 groups");
    for (const reason of unrouted)
      assert.equal(
        reason,
        `no enabled rule in ${PROD}/eu-west-3 forwards it to arn:aws:events:eu-west-1:999999999999:event-bus/default`,
      );

    const record = await getRollout(dynamo.db, dynamo.table, image.arn);
    assert.equal(record?.status, "succeeded");
    const lastEnd = Math.max(
      ...world.autoScaling.refreshes
        .filter((refresh) => refresh.group.region === "eu-west-3")
        .map((refresh) => refresh.endTime ?? 0),
    );
    assert.ok(
      Date.parse(record?.finishedAt ?? "") - lastEnd <= 5 * MINUTE + 1000,
      "the poll saw eu-west-3's refreshes end",
    );
  });

  it("with watch-rollouts' refresh rule and poll schedule disabled, nothing moves the rollout", async () => {
    const { world, lambda, handlers, dynamo } = sandbox.session;
    const watchRules = world.events
      .rulesIn(world.orchestratorAccountId, world.orchestratorRegion)
      .filter((rule) => rule.targets.some((target) => target.Arn.endsWith("-watch-rollouts")));
    assert.equal(watchRules.length, 2, "the refresh-events rule and the poll schedule");
    for (const rule of watchRules) rule.state = "DISABLED";
    const before = lambda.invocations.filter(
      (invocation) => invocation.functionName === "watch-rollouts",
    ).length;

    world.clock.advanceTo("2026-11-30T02:00:00.000Z");
    await handlers.startPipelines(
      { pipeline: "base-al2023", scheduledTime: "2026-11-30T02:00:00.000Z" },
      fakeContext("start-pipelines"),
    );
    const image = world.imageBuilder.imagesOf(BASE).at(-1);
    assert.ok(image);
    await lambda.run(Date.parse("2026-11-30T07:00:00Z"));

    assert.equal(
      lambda.invocations.filter((invocation) => invocation.functionName === "watch-rollouts")
        .length,
      before,
    );
    assert.ok(
      lambda.unroutedEvents.some((entry) =>
        entry.reason.startsWith(
          "no enabled rule on arn:aws:events:eu-west-1:999999999999:event-bus/default sends it to",
        ),
      ),
    );
    const record = await getRollout(dynamo.db, dynamo.table, image.arn);
    assert.equal(record?.status, "in-progress", "its first wave refreshed, no one saw it end");
    for (const rule of watchRules) rule.state = "ENABLED";
  });
});
