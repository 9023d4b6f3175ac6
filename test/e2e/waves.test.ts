import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runRollout } from "../../lib/operator/rollout-command.ts";
import { getRollout, latestRollouts, loadRollout } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxOperatorDeps } from "../../sandbox/operator.ts";
import { repoPath } from "../helpers/fixtures.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const MINUTE = 60_000;
const DEV = "111111111111";
const PROD = "222222222222";
const BASE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023";
const WEB = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/web-ubuntu2404";

/**
 * Safe rollouts with the repository's own config: base-al2023 rolls dev (bake 60 minutes) then
 * prod; web-ubuntu2404 rolls a prod canary (bake 120 minutes) then the rest after approval.
 */
describe("rollouts in waves, watched to the end, in the sandbox", () => {
  const sandbox = sandboxSuite(undefined, { start: "2026-11-23T01:59:00Z" });

  const build = async (pipeline: string, arn: string, at: string) => {
    const { world, handlers } = sandbox.session;
    world.clock.advanceTo(at);
    await handlers.startPipelines({ pipeline, scheduledTime: at }, fakeContext("start-pipelines"));
    return world.imageBuilder.imagesOf(arn).at(-1);
  };
  const rolloutOf = (imageArn: string) => imageArn;
  const refreshesIn = (accountId: string, since = 0) =>
    sandbox.session.world.autoScaling.refreshes.filter(
      (refresh) => refresh.group.accountId === accountId && refresh.startTime >= since,
    );
  const watchInvocations = () =>
    sandbox.session.lambda.invocations.filter(
      (invocation) => invocation.functionName === "watch-rollouts",
    );

  it("dev succeeds, bakes 60 minutes, then prod; a lost Succeeded event is recovered by the poll", async () => {
    const { lambda, dynamo } = sandbox.session;
    // EventBridge loses every prod "Succeeded" event and duplicates every dev one.
    lambda.refreshEventFate = (refresh, outcome) =>
      outcome !== "Succeeded"
        ? "delivered"
        : refresh.group.accountId === PROD
          ? "lost"
          : "duplicated";
    const image = await build("base-al2023", BASE, "2026-11-23T02:00:00.000Z");
    assert.ok(image);
    await lambda.run(Date.parse("2026-11-23T06:00:00Z"));

    const devDone = Math.max(...refreshesIn(DEV).map((refresh) => refresh.endTime ?? 0));
    const prodStarted = Math.min(...refreshesIn(PROD).map((refresh) => refresh.startTime));
    assert.equal(refreshesIn(DEV).length, 2);
    assert.equal(refreshesIn(PROD).length, 4, "2 groups × 2 regions");
    assert.ok(prodStarted >= devDone + 60 * MINUTE, "prod waited for dev's bake time");
    assert.ok(prodStarted <= devDone + 60 * MINUTE + 10 * MINUTE, "and not much longer");

    const record = await getRollout(dynamo.db, dynamo.table, rolloutOf(image.arn));
    assert.equal(record?.status, "succeeded");
    assert.ok(lambda.lostEvents.length >= 4, "prod's Succeeded events were lost");
    const prodDone = Math.max(...refreshesIn(PROD).map((refresh) => refresh.endTime ?? 0));
    assert.ok(
      Date.parse(record?.finishedAt ?? "") - prodDone <= 5 * MINUTE + 1000,
      "the poll saw it",
    );
    assert.ok(watchInvocations().every((invocation) => !invocation.error));
    lambda.refreshEventFate = () => "delivered";
  });

  it("a dev refresh that fails and rolls back stops the rollout: prod never starts", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    // Grants that take far longer than the configured 5 minutes to propagate.
    world.kms.propagationMs = 3 * 60 * MINUTE;
    world.kms.grants.length = 0;
    const since = world.clock.now();
    const image = await build("base-al2023", BASE, "2026-11-24T02:00:00.000Z");
    assert.ok(image);
    await lambda.run(Date.parse("2026-11-24T06:00:00Z"));
    world.kms.propagationMs = 60_000;

    assert.ok(refreshesIn(DEV, since).every((refresh) => refresh.status === "RollbackSuccessful"));
    assert.equal(refreshesIn(PROD, since).length, 0);
    const state = await loadRollout(dynamo.db, dynamo.table, rolloutOf(image.arn));
    assert.equal(state?.record.status, "failed");
    assert.match(
      state?.record.reason ?? "",
      /dev\/eu-west-1\/base-al2023-app: RollbackSuccessful: .*Client\.InternalError/,
    );
    assert.equal(state?.record.dispatchedWave, 0);
    // The groups rolled back to the version they ran: the one that followed $Default follows it
    // again ($Default never moved), the one that followed $Latest stays pinned ($Latest is now
    // the rejected version).
    for (const group of state?.groups ?? []) {
      const spec = [...world.autoScaling.groups.values()].find(
        (candidate) =>
          candidate.name === group.group &&
          candidate.accountId === group.accountId &&
          candidate.region === group.region,
      );
      const current =
        spec?.launchTemplate ??
        spec?.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;
      if (group.follows === "$Default") {
        assert.equal(current?.Version, "$Default", `${group.group} follows $Default again`);
      } else {
        assert.equal(group.follows, "$Latest");
        assert.equal(
          current?.Version,
          String(group.previousVersion),
          `${group.group} stays pinned`,
        );
        assert.match(group.settled ?? "", /stays pinned/);
      }
    }
    // ...and the on-call person learns it from Slack, with the group and the reason.
    const alert = (sandbox.session.slack.messages as Array<{ text: string }>).find((message) =>
      message.text.startsWith("Rollout failed: base-al2023"),
    );
    assert.ok(alert, "a rollout-failed alert reached Slack");
    assert.match(
      JSON.stringify(alert),
      /base-al2023-app refresh [\w-]+: RollbackSuccessful: Instance failed to launch/,
    );
  });

  it("a newer image supersedes an unfinished rollout: its pending waves never start", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    const since = world.clock.now();
    const first = await build("base-al2023", BASE, "2026-11-25T02:00:00.000Z");
    assert.ok(first);
    // Let the first reach its dev bake, then a second build comes out.
    await lambda.run(Date.parse("2026-11-25T03:10:00Z"));
    assert.equal(refreshesIn(DEV, since).length, 2);
    const second = await build("base-al2023", BASE, "2026-11-25T03:10:00.000Z");
    assert.ok(second);
    await lambda.run(Date.parse("2026-11-25T08:00:00Z"));

    const old = await getRollout(dynamo.db, dynamo.table, rolloutOf(first.arn));
    const latest = await getRollout(dynamo.db, dynamo.table, rolloutOf(second.arn));
    assert.equal(old?.status, "superseded");
    assert.equal(old?.supersededBy, rolloutOf(second.arn));
    assert.equal(old?.dispatchedWave, 0, "the superseded rollout never reached prod");
    assert.equal(latest?.status, "succeeded");
    assert.equal(refreshesIn(PROD, since).length, 4, "prod got only the newer image");
  });

  it("rollback returns every group to the version it ran before", async () => {
    const { world, lambda, dynamo, handlers } = sandbox.session;
    const [rolloutId] = await latestRollouts(dynamo.db, dynamo.table, "base-al2023", 1);
    const state = await loadRollout(dynamo.db, dynamo.table, rolloutId as string);
    const outcome = (await handlers.watchRollouts(
      { action: "rollback", pipeline: "base-al2023", requestedBy: "e2e" },
      fakeContext("watch-rollouts"),
    )) as { groups: Array<{ status: string; toVersion?: number }> };

    assert.equal(outcome.groups.length, state?.groups.length);
    assert.ok(outcome.groups.every((group) => group.status === "rollback-started"));
    await lambda.run(world.clock.now() + 30 * MINUTE);
    for (const group of state?.groups ?? []) {
      const live = world.autoScaling.groups.get(
        `${group.accountId}|${group.region}|${group.group}`,
      );
      const spec =
        live?.launchTemplate ??
        live?.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;
      assert.equal(
        spec?.Version,
        String(group.previousVersion),
        `${group.group} in ${group.accountId}/${group.region}`,
      );
    }
    const record = await getRollout(dynamo.db, dynamo.table, rolloutId as string);
    assert.equal(record?.status, "rolled-back");
  });

  it("a manual-approval wave waits for the approve action", async () => {
    const { world, lambda, dynamo, handlers } = sandbox.session;
    const image = await build("web-ubuntu2404", WEB, "2026-12-01T07:30:00.000Z");
    assert.ok(image);
    await lambda.run(Date.parse("2026-12-01T14:00:00Z"));
    const rolloutId = rolloutOf(image.arn);
    const held = await getRollout(dynamo.db, dynamo.table, rolloutId);
    assert.equal(held?.status, "in-progress");
    assert.equal(held?.dispatchedWave, 0, "canary done and baked, rest waiting");

    await handlers.watchRollouts(
      { action: "approve", pipeline: "web-ubuntu2404", wave: "rest", approvedBy: "e2e" },
      fakeContext("watch-rollouts"),
    );
    await lambda.run(world.clock.now() + 60 * MINUTE);

    const done = await getRollout(dynamo.db, dynamo.table, rolloutId);
    assert.equal(done?.dispatchedWave, 1);
    assert.equal(done?.status, "succeeded");
    assert.ok(done?.approvals["1"]);
    assert.equal(sandbox.session.world.queues.deadLetter.messages.length, 0);
  });

  it("npm run rollout -- status shows the rollouts from DynamoDB, per target and group", async () => {
    // As an operator runs it: the sandbox's stack found by stage and region, its table read.
    const io = sandboxOperatorDeps(sandbox.session, repoPath("config/orchestrator.yml"));
    const status = await runRollout(
      ["status", "base-al2023", "--stage", "sandbox", "--region", "eu-west-1"],
      io,
    );
    assert.equal(status, 0, io.stderr.join("\n"));
    const stdout = io.stdout.join("\n");
    assert.match(stdout, /base-al2023\/1\.0\.\d+\/\d+ {2}base-al2023 {2}ROLLED-BACK/);
    assert.match(
      stdout,
      /SUPERSEDED\n.*\n.*waves: dev \(sent\) → prod \(pending\)\n {2}superseded by/,
    );
    assert.match(
      stdout,
      /FAILED[\s\S]*reason: dev\/eu-west-1\/base-al2023-app: RollbackSuccessful/,
    );
    assert.match(
      stdout,
      /prod 222222222222 +eu-west-3 +refreshing +base-al2023-workers +lt-\w+ +2 → 3 +1 +\w{8} +Successful/,
    );
  });
});
