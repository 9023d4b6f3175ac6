import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallContext } from "../../../sandbox/model/faults.ts";
import { RequestThrottle, TokenBucket } from "../../../sandbox/model/throttling.ts";
import { SandboxWorld } from "../../../sandbox/model/world.ts";

const ACCOUNT = "111111111111";
const OTHER_ACCOUNT = "222222222222";
const REGION = "eu-west-1";

/** A throttle on a hand-moved clock: every call below lands at the instant `clock.at`. */
const throttleAt = () => {
  const clock = { at: 0 };
  return { clock, throttle: new RequestThrottle(() => clock.at) };
};

const call = (
  service: string,
  operation: string,
  input: Record<string, unknown> = {},
  where: { accountId?: string; region?: string } = {},
): CallContext => ({
  service,
  operation,
  input,
  accountId: where.accountId ?? ACCOUNT,
  region: where.region ?? REGION,
});

/** How many of `count` identical calls the throttle admits at the current instant. */
const admitted = (throttle: RequestThrottle, request: CallContext, count: number): number => {
  let passed = 0;
  for (let index = 0; index < count; index += 1) {
    try {
      throttle.admit(request);
      passed += 1;
    } catch {
      // Refused: counted by the throttle.
    }
  }
  return passed;
};

describe("a token bucket", () => {
  it("serves its capacity at once, then its refill rate per second, never above capacity", () => {
    const bucket = new TokenBucket({ capacity: 100, refillPerSecond: 20 }, 0);
    let served = 0;
    while (bucket.take(0)) served += 1;
    assert.equal(served, 100, "a full bucket serves a burst of its capacity");
    served = 0;
    while (bucket.take(1_000)) served += 1;
    assert.equal(served, 20, "one second later, the refill rate");
    served = 0;
    while (bucket.take(60_000)) served += 1;
    assert.equal(served, 100, "a long pause refills it to capacity, not beyond");
  });
});

describe("AWS's documented request throttling", () => {
  it("answers EC2's RequestLimitExceeded, retried as throttling, past a non-mutating action's 100-token burst", () => {
    const { throttle } = throttleAt();
    const describe = call("ec2", "DescribeImages", { ImageIds: ["ami-1"] });
    assert.equal(admitted(throttle, describe, 100), 100);
    assert.throws(
      () => throttle.admit(describe),
      (error: Error & { $retryable?: { throttling: boolean } }) =>
        error.name === "RequestLimitExceeded" && error.$retryable?.throttling === true,
    );
    assert.equal(throttle.throttled, 1);
  });

  it("refills EC2's non-mutating bucket at 20 tokens per second", () => {
    const { clock, throttle } = throttleAt();
    const describe = call("ec2", "DescribeLaunchTemplateVersions", {});
    admitted(throttle, describe, 100);
    clock.at += 1_000;
    assert.equal(admitted(throttle, describe, 30), 20);
  });

  it("keeps one bucket per account and region: one exhausted leaves the others whole", () => {
    const { throttle } = throttleAt();
    admitted(throttle, call("ec2", "DescribeImages"), 150);
    assert.equal(
      admitted(throttle, call("ec2", "DescribeImages", {}, { accountId: OTHER_ACCOUNT }), 100),
      100,
    );
    assert.equal(
      admitted(throttle, call("ec2", "DescribeImages", {}, { region: "eu-west-3" }), 100),
      100,
    );
  });

  it("evaluates each EC2 action on its own bucket", () => {
    const { throttle } = throttleAt();
    admitted(throttle, call("ec2", "DescribeImages"), 150);
    assert.equal(admitted(throttle, call("ec2", "DescribeLaunchTemplates"), 100), 100);
  });

  it("gives an unfiltered, unpaginated DescribeSnapshots the smaller 50-token, 10-per-second bucket", () => {
    const { clock, throttle } = throttleAt();
    const byIds = call("ec2", "DescribeSnapshots", { SnapshotIds: ["snap-1"] });
    assert.equal(admitted(throttle, byIds, 80), 50);
    clock.at += 1_000;
    assert.equal(admitted(throttle, byIds, 80), 10);
    const paginated = call("ec2", "DescribeSnapshots", { SnapshotIds: ["snap-1"], MaxResults: 5 });
    assert.equal(admitted(throttle, paginated, 150), 100, "paginated: the standard bucket");
  });

  it("throttles CreateLaunchTemplateVersion and ModifyLaunchTemplate at 100 tokens and 5 per second", () => {
    const { clock, throttle } = throttleAt();
    for (const operation of ["CreateLaunchTemplateVersion", "ModifyLaunchTemplate"]) {
      const mutate = call("ec2", operation);
      assert.equal(admitted(throttle, mutate, 150), 100, operation);
    }
    clock.at += 1_000;
    assert.equal(admitted(throttle, call("ec2", "CreateLaunchTemplateVersion"), 20), 5);
  });

  it("throttles other EC2 mutating actions at 50 tokens and 5 per second", () => {
    const { throttle } = throttleAt();
    assert.equal(admitted(throttle, call("ec2", "CreateLaunchTemplate"), 80), 50);
  });

  it("quotas KMS CreateGrant at 50 and DescribeKey at 2,000 requests per second, independently", () => {
    const { clock, throttle } = throttleAt();
    assert.equal(admitted(throttle, call("kms", "CreateGrant"), 80), 50);
    assert.equal(admitted(throttle, call("kms", "DescribeKey"), 2_500), 2_000);
    assert.throws(() => throttle.admit(call("kms", "CreateGrant")), {
      name: "ThrottlingException",
    });
    clock.at += 1_000;
    assert.equal(admitted(throttle, call("kms", "CreateGrant"), 80), 50);
  });

  it("shares one KMS quota among symmetric cryptographic operations, sized by region", () => {
    const { throttle } = throttleAt();
    const where = { region: "eu-west-3" };
    assert.equal(admitted(throttle, call("kms", "Encrypt", {}, where), 6_000), 6_000);
    assert.equal(admitted(throttle, call("kms", "Decrypt", {}, where), 6_000), 4_000);
    assert.equal(admitted(throttle, call("kms", "Decrypt"), 20_000), 20_000, "eu-west-1: 100,000");
  });

  it("shares STS's 600 requests per second between AssumeRole and GetCallerIdentity", () => {
    const { throttle } = throttleAt();
    assert.equal(admitted(throttle, call("sts", "GetCallerIdentity"), 100), 100);
    assert.equal(admitted(throttle, call("sts", "AssumeRole"), 600), 500);
    assert.throws(() => throttle.admit(call("sts", "AssumeRole")), { name: "Throttling" });
  });

  it("shares one Auto Scaling bucket between all its actions", () => {
    const { throttle } = throttleAt();
    const describes = admitted(throttle, call("autoscaling", "DescribeAutoScalingGroups"), 1_000);
    assert.ok(describes < 1_000, "the bucket is finite");
    assert.equal(admitted(throttle, call("autoscaling", "StartInstanceRefresh"), 1), 0);
    assert.throws(() => throttle.admit(call("autoscaling", "StartInstanceRefresh")), {
      name: "Throttling",
    });
  });
});

describe("the sandbox world", () => {
  const newWorld = () =>
    new SandboxWorld({
      start: "2025-06-02T10:00:00Z",
      orchestratorAccountId: ACCOUNT,
      orchestratorRegion: REGION,
    });
  const describeImages = (world: SandboxWorld) =>
    world.call(call("ec2", "DescribeImages", { ImageIds: ["ami-0123456789abcdef0"] })).then(
      () => "ok",
      (error: Error) => error.name,
    );

  it("does not throttle unless asked", async () => {
    const world = newWorld();
    const outcomes = await Promise.all(Array.from({ length: 150 }, () => describeImages(world)));
    assert.ok(outcomes.every((outcome) => outcome !== "RequestLimitExceeded"));
    assert.equal(world.throttled, 0);
  });

  it("throttles like AWS when asked, counts what it throttled, and refills as simulated time passes", async () => {
    const world = newWorld();
    world.throttleLikeAws();
    const outcomes = await Promise.all(Array.from({ length: 150 }, () => describeImages(world)));
    const throttled = outcomes.filter((outcome) => outcome === "RequestLimitExceeded").length;
    assert.ok(throttled >= 30, `${throttled} of 150 throttled`);
    assert.equal(world.throttled, throttled);
    const recorded = world.callsTo("ec2:DescribeImages", { succeeded: false });
    assert.equal(
      recorded.filter((record) => record.error === "RequestLimitExceeded").length,
      throttled,
      "each throttled call is recorded with its error",
    );
    world.clock.advance(60_000);
    assert.notEqual(await describeImages(world), "RequestLimitExceeded");
  });
});
