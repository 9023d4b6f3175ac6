import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ACTIVE_REFRESH_RETRY_SECONDS,
  CANCELLING_REFRESH_RETRY_SECONDS,
} from "../../../lib/rollout/roll-out-target/context.ts";
import { groupOutcomes, judgeTarget } from "../../../lib/rollout/roll-out-target/outcome.ts";
import type {
  GroupStepResult,
  RefreshWait,
} from "../../../lib/rollout/roll-out-target/refresh-group.ts";

const group = (name: string, fields: Partial<GroupStepResult>): GroupStepResult => ({
  group: name,
  status: "refresh-started",
  ...fields,
});

describe("what becomes of a target once its groups were worked on", () => {
  it("retries the delivery when a group hit a transient error, naming each such group", () => {
    const cause = new Error("throttled");
    const verdict = judgeTarget([
      group("web", {}),
      group("api", { status: "retry", reason: "ThrottlingException: slow down", error: cause }),
    ]);

    assert.deepEqual(verdict, {
      kind: "retry",
      message: "1 group(s) hit a transient error: api: ThrottlingException: slow down",
      cause,
    });
  });

  it("waits for another team's refresh, and looks again sooner when ours is cancelling it", () => {
    const waiting = (waitingFor: RefreshWait) =>
      judgeTarget([
        group("web", {}),
        group("api", { status: "waiting", reason: waitingFor, waitingFor }),
      ]);

    const cancelling = waiting("cancelling-active-refresh");
    const plain = waiting("waiting-for-active-refresh");

    assert.equal(cancelling.kind, "wait");
    assert.equal(plain.kind, "wait");
    if (cancelling.kind !== "wait" || plain.kind !== "wait") return;
    assert.equal(cancelling.requeue.delaySeconds, CANCELLING_REFRESH_RETRY_SECONDS);
    assert.equal(plain.requeue.delaySeconds, ACTIVE_REFRESH_RETRY_SECONDS);
    assert.deepEqual(
      { ...plain.requeue, delaySeconds: 0 },
      {
        targetStatus: "waiting-for-refresh",
        countsAsAttempt: true,
        delaySeconds: 0,
        reason: "waiting for another instance refresh to end",
      },
    );
  });

  it("a failed group's reason is no signal: only a waiting group makes the target wait", () => {
    const verdict = judgeTarget([
      group("api", {
        status: "failed",
        reason: "cancelling-active-refresh for 48 attempts: giving up",
      }),
    ]);

    assert.deepEqual(verdict, {
      kind: "done",
      status: "failed",
      reason: "api: cancelling-active-refresh for 48 attempts: giving up",
    });
  });

  it("takes its status from how many groups failed, and whether any refresh was started", () => {
    const failed = group("a", { status: "failed", reason: "AccessDenied" });
    const started = group("b", { status: "refresh-started" });
    const upToDate = group("c", { status: "up-to-date" });

    assert.equal(judgeTarget([failed, started]).kind, "done");
    assert.deepEqual(judgeTarget([failed, started]), {
      kind: "done",
      status: "partially-failed",
      reason: "a: AccessDenied",
    });
    assert.deepEqual(judgeTarget([started, upToDate]), { kind: "done", status: "refreshing" });
    assert.deepEqual(judgeTarget([upToDate]), { kind: "done", status: "up-to-date" });
  });

  it("tells of each group its outcome only, not its record nor how it waited", () => {
    const [outcome] = groupOutcomes([
      {
        ...group("web", { status: "waiting", reason: "waiting-for-active-refresh" }),
        waitingFor: "waiting-for-active-refresh",
        error: undefined,
        previousVersion: 3,
        newVersion: 4,
      },
    ]);

    assert.deepEqual(outcome, {
      group: "web",
      status: "waiting",
      previousVersion: 3,
      newVersion: 4,
      reason: "waiting-for-active-refresh",
    });
  });
});
