import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideNext } from "../../../lib/rollout/progress.ts";
import type {
  GroupRecord,
  RolloutRecord,
  RolloutState,
  TargetRecord,
} from "../../../lib/rollout/store.ts";
import { testConfig } from "../../helpers/fixtures.ts";

const config = testConfig(`  - name: app
    arn: arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/app
    freeze: [{ from: "2026-12-24", to: "2026-12-26" }]
    rollout:
      waves:
        - { name: dev, accounts: [dev], bakeMinutes: 60 }
        - { name: prod, accounts: [prod], approval: manual }
      autoScalingGroups: { tags: { team: web } }`);
const pipeline = config.pipelines.find((p) => p.name === "app") as (typeof config.pipelines)[0];
const NOW = Date.parse("2026-11-23T10:00:00Z");

const target = (wave: number, fields: Partial<TargetRecord> = {}): TargetRecord => ({
  rolloutId: "app/1.0.0/1",
  wave: wave === 0 ? "dev" : "prod",
  waveIndex: wave,
  account: wave === 0 ? "dev" : "prod",
  accountId: wave === 0 ? "111111111111" : "222222222222",
  region: "eu-west-1",
  amiId: "ami-0123",
  status: "refreshing",
  ...fields,
});
const group = (t: TargetRecord, fields: Partial<GroupRecord>): GroupRecord => ({
  group: "web",
  accountId: t.accountId,
  region: t.region,
  status: "refresh-started",
  instanceRefreshId: "r-1",
  updatedAt: "2026-11-23T08:00:00Z",
  ...fields,
});
const state = (
  record: Partial<RolloutRecord>,
  targets: TargetRecord[],
  groups: GroupRecord[] = [],
): RolloutState => ({
  record: {
    rolloutId: "app/1.0.0/1",
    status: "in-progress",
    approvals: {},
    pipeline: "app",
    imageArn: "arn:image",
    createdAt: "2026-11-23T07:00:00Z",
    dispatchedWave: 0,
    waveCount: 2,
    targetsWithoutAmi: [],
    amisWithoutTarget: [],
    ...record,
  },
  targets,
  groups: groups.map((g) => ({ ...g, rolloutId: "app/1.0.0/1" })),
});

describe("deciding a rollout's next step from its records", () => {
  const dev = target(0);
  const prod = target(1, { status: "pending" });
  const succeeded = (finishedAt: string) =>
    group(dev, { status: "succeeded", refreshStatus: "Successful", finishedAt });

  it("dispatches the first wave of a new rollout", () => {
    const decision = decideNext(
      state({ dispatchedWave: -1 }, [target(0, { status: "pending" }), prod]),
      pipeline,
      config,
      NOW,
    );
    assert.deepEqual(decision, { action: "dispatch", waveIndex: 0, wave: "dev" });
  });

  it("waits while a refresh of the current wave runs", () => {
    const decision = decideNext(state({}, [dev, prod], [group(dev, {})]), pipeline, config, NOW);
    assert.equal(decision.action, "wait");
    assert.match("reason" in decision ? decision.reason : "", /0 of 1 target/);
  });

  it("waits out the bake time after the wave's last refresh ended", () => {
    const decision = decideNext(
      state({}, [dev, prod], [succeeded("2026-11-23T09:30:00.000Z")]),
      pipeline,
      config,
      NOW,
    );
    assert.deepEqual(decision, {
      action: "wait",
      reason: 'wave "dev" baking before "prod"',
      until: "2026-11-23T10:30:00.000Z",
    });
  });

  it("times a bake from AWS's refresh end time, not from a skewed roll-out-target clock", () => {
    // roll-out-target's clock ran 90 minutes ahead when it last wrote the target (11:30); AWS
    // says the refresh ended at 09:00: at 10:00 the 60-minute bake is over.
    const skewed = target(0, { updatedAt: "2026-11-23T11:30:00.000Z" });
    const decision = decideNext(
      state(
        {},
        [skewed, prod],
        [group(skewed, { status: "succeeded", finishedAt: "2026-11-23T09:00:00.000Z" })],
      ),
      pipeline,
      config,
      NOW,
    );
    assert.match(JSON.stringify(decision), /manual approval/);
  });

  it("times a bake from the target's record only when nothing was refreshed", () => {
    const upToDate = target(0, { status: "up-to-date", updatedAt: "2026-11-23T09:30:00.000Z" });
    assert.deepEqual(decideNext(state({}, [upToDate, prod]), pipeline, config, NOW), {
      action: "wait",
      reason: 'wave "dev" baking before "prod"',
      until: "2026-11-23T10:30:00.000Z",
    });
  });

  it("then waits for the manual approval of the next wave, then dispatches it", () => {
    const baked = state({}, [dev, prod], [succeeded("2026-11-23T08:30:00.000Z")]);
    assert.match(JSON.stringify(decideNext(baked, pipeline, config, NOW)), /manual approval/);
    const approved = state(
      { approvals: { "1": "2026-11-23T09:59:00Z" } },
      [dev, prod],
      [succeeded("2026-11-23T08:30:00.000Z")],
    );
    assert.deepEqual(decideNext(approved, pipeline, config, NOW), {
      action: "dispatch",
      waveIndex: 1,
      wave: "prod",
    });
  });

  it("holds the next wave during a freeze window and says until when", () => {
    const approved = state(
      { approvals: { "1": "x" } },
      [dev, prod],
      [succeeded("2026-12-23T08:30:00.000Z")],
    );
    const decision = decideNext(approved, pipeline, config, Date.parse("2026-12-24T12:00:00Z"));
    assert.equal(decision.action, "wait");
    assert.equal("until" in decision ? decision.until : undefined, "2026-12-27T00:00:00.000Z");
  });

  it("fails on a failed or rolled-back refresh, naming account, region, group and refresh", () => {
    const rolledBack = group(dev, {
      status: "rolled-back",
      refreshStatus: "RollbackSuccessful",
      reason: "launch failed",
    });
    const decision = decideNext(state({}, [dev, prod], [rolledBack]), pipeline, config, NOW);
    assert.deepEqual(decision, {
      action: "fail",
      failures: [
        {
          wave: "dev",
          account: "dev",
          accountId: "111111111111",
          region: "eu-west-1",
          group: "web",
          instanceRefreshId: "r-1",
          reason: "RollbackSuccessful: launch failed",
        },
      ],
    });
  });

  it("counts a target with nothing to replace as done, and succeeds after the last wave", () => {
    const last = state({ dispatchedWave: 1 }, [
      target(0, { status: "up-to-date" }),
      target(1, { status: "up-to-date" }),
    ]);
    assert.deepEqual(decideNext(last, pipeline, config, NOW), { action: "succeed" });
  });

  it("skips a wave no AMI was distributed to", () => {
    const onlyProd = state({ dispatchedWave: -1 }, [target(1, { status: "pending" })]);
    assert.match(JSON.stringify(decideNext(onlyProd, pipeline, config, NOW)), /manual approval/);
  });

  it("does nothing for a rollout that ended", () => {
    assert.deepEqual(decideNext(state({ status: "superseded" }, [dev]), pipeline, config, NOW), {
      action: "none",
      reason: "rollout superseded",
    });
  });
});
