import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { failureReason, MAX_FAILURE_REASON } from "../../../lib/rollout/failure-reason.ts";
import type { RolloutFailure } from "../../../lib/rollout/progress.ts";

const failure = (index: number): RolloutFailure => ({
  wave: "prod",
  account: `account-${index}`,
  accountId: String(100_000_000_000 + index),
  region: "eu-west-1",
  group: `web-${index}`,
  reason: "Instance refresh failed: health checks",
});

describe("a failed rollout's reason", () => {
  it("names a single failure as it is", () => {
    assert.equal(
      failureReason([failure(1)]),
      "account-1/eu-west-1/web-1: Instance refresh failed: health checks",
    );
  });

  it("counts 10,000 failures, names the first 10 and stays under 2,000 characters", () => {
    const reason = failureReason(Array.from({ length: 10_000 }, (_, index) => failure(index)));

    assert.ok(reason.length <= MAX_FAILURE_REASON, `${reason.length} characters`);
    assert.match(reason, /^10000 failures: account-0\/eu-west-1\/web-0: /);
    assert.match(reason, /account-9\/eu-west-1\/web-9: [^;]+; and 9990 more$/);
    assert.doesNotMatch(reason, /account-10\//);
  });

  it("cuts failures with very long reasons, keeping the count of the rest", () => {
    const long = Array.from({ length: 30 }, (_, index) => ({
      ...failure(index),
      reason: "y".repeat(1000),
    }));

    const reason = failureReason(long);

    assert.ok(reason.length <= MAX_FAILURE_REASON);
    assert.match(reason, /^30 failures: /);
    assert.match(reason, /…; and 20 more$/);
  });
});
