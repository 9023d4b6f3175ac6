import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import {
  AssumedRoleCredentials,
  roleSessionName,
  TargetAccountUnreachableError,
} from "../../../lib/aws/credentials.ts";
import { readEnv } from "../../../lib/aws/env.ts";
import { targetAccountClients } from "../../../lib/aws/target-clients.ts";
import { EnvironmentError } from "../../../lib/errors.ts";

const sts = mockClient(STSClient);
const role = {
  accountId: "111111111111",
  roleName: "ami-orchestrator-target",
  externalId: "ext-dev-01",
};
const T0 = Date.parse("2026-11-23T02:00:00Z");

const issued = (n: number, expiresAt: number) => ({
  Credentials: {
    AccessKeyId: `AKIA${n}`,
    SecretAccessKey: "secret",
    SessionToken: "token",
    Expiration: new Date(expiresAt),
  },
});

describe("AssumedRoleCredentials", () => {
  let now = T0;
  const cache = () =>
    new AssumedRoleCredentials({
      sts: new STSClient({ region: "eu-west-1" }),
      clock: { now: () => now },
    });

  beforeEach(() => {
    sts.reset();
    now = T0;
  });

  it("assumes the target role with its ExternalId, a labelled session and one hour", async () => {
    sts.on(AssumeRoleCommand).resolves(issued(1, T0 + 3600_000));

    const credentials = await cache().get(role, "rollout-42");

    assert.equal(credentials.accessKeyId, "AKIA1");
    assert.deepEqual(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input, {
      RoleArn: "arn:aws:iam::111111111111:role/ami-orchestrator-target",
      RoleSessionName: "ami-orchestrator-rollout-42",
      ExternalId: "ext-dev-01",
      DurationSeconds: 3600,
    });
  });

  it("reuses credentials until shortly before they expire, then assumes again", async () => {
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(issued(1, T0 + 3600_000))
      .resolvesOnce(issued(2, T0 + 7200_000));
    const credentials = cache();

    await credentials.get(role, "a");
    now = T0 + 54 * 60_000;
    assert.equal((await credentials.get(role, "b")).accessKeyId, "AKIA1");
    now = T0 + 56 * 60_000;
    assert.equal((await credentials.get(role, "c")).accessKeyId, "AKIA2");
    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 2);
  });

  it("measures expiry on its own clock: a clock far ahead of STS's does not assume per request", async () => {
    // STS says the session ends at T0 + 1 h; our clock already reads T0 + 3 h.
    now = T0 + 3 * 3600_000;
    sts.on(AssumeRoleCommand).resolves(issued(1, T0 + 3600_000));
    const credentials = cache();

    for (let call = 0; call < 20; call += 1) {
      const identity = await credentials.get(role, "a");
      assert.ok((identity.expiration?.getTime() ?? 0) > now, "not expired in our clock's eyes");
      now += 60_000;
    }

    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 1);
  });

  it("re-assumes the role and retries the call once when AWS says the credentials expired", async () => {
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(issued(1, T0 + 3600_000))
      .resolvesOnce(issued(2, T0 + 3600_000));
    const clients = targetAccountClients(
      cache(),
      "watch",
    )((options) => new AutoScalingClient({ ...options, maxAttempts: 1 }));
    const client = clients({ id: role.accountId, regions: ["eu-west-1"], ...role }, "eu-west-1");
    const signedWith: string[] = [];
    // Stands in for AWS: refuses the first request's credentials as expired.
    client.middlewareStack.add(
      () => async () => {
        // What the SDK signs with: its (memoized) view of the credentials provider.
        const identity = await client.config.credentials();
        signedWith.push(identity.accessKeyId);
        if (signedWith.length === 1)
          throw Object.assign(new Error("The security token included in the request is expired"), {
            name: "ExpiredToken",
            $metadata: { httpStatusCode: 403 },
          });
        return { output: { AutoScalingGroups: [], $metadata: {} }, response: {} };
      },
      { step: "deserialize", priority: "high", name: "fakeAws" },
    );

    await client.send(new DescribeAutoScalingGroupsCommand({}));

    assert.deepEqual(signedWith, ["AKIA1", "AKIA2"]);
    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 2);
  });

  it("shares one AssumeRole between concurrent callers", async () => {
    sts.on(AssumeRoleCommand).resolves(issued(1, T0 + 3600_000));
    const credentials = cache();

    await Promise.all([
      credentials.get(role, "a"),
      credentials.get(role, "b"),
      credentials.provider(role, "c")(),
    ]);

    assert.equal(sts.commandCalls(AssumeRoleCommand).length, 1);
  });

  it("keeps separate credentials per account", async () => {
    sts
      .on(AssumeRoleCommand)
      .resolvesOnce(issued(1, T0 + 3600_000))
      .resolvesOnce(issued(2, T0 + 3600_000));
    const credentials = cache();

    await credentials.get(role, "a");
    const other = await credentials.get({ ...role, accountId: "222222222222" }, "a");

    assert.equal(other.accessKeyId, "AKIA2");
  });

  it("explains AccessDenied with the account, the role and what to check, and does not cache it", async () => {
    const denied = Object.assign(new Error("not authorized to perform sts:AssumeRole"), {
      name: "AccessDenied",
    });
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(denied)
      .resolves(issued(1, T0 + 3600_000));
    const credentials = cache();

    await assert.rejects(credentials.get(role, "a"), (error: unknown) => {
      assert.ok(error instanceof TargetAccountUnreachableError);
      assert.equal(error.accountId, "111111111111");
      assert.equal(error.retryable, false);
      assert.match(error.message, /arn:aws:iam::111111111111:role\/ami-orchestrator-target/);
      assert.match(error.message, /externalId/);
      return true;
    });
    assert.equal((await credentials.get(role, "a")).accessKeyId, "AKIA1");
  });
});

describe("roleSessionName", () => {
  it("keeps only allowed characters and at most 64 of them", () => {
    const name = roleSessionName(
      `base#arn:aws:imagebuilder:eu-west-1:999999999999:image/base/1.0.0/4`,
    );
    assert.match(name, /^[\w+=,.@-]{2,64}$/);
  });
});

describe("readEnv", () => {
  it("returns the variables when all are set", () => {
    assert.deepEqual(readEnv(["A", "B"], { A: "1", B: "2" }), { A: "1", B: "2" });
  });

  it("lists every missing variable at once", () => {
    assert.throws(
      () => readEnv(["A", "B", "C"], { B: "2" }),
      (error: unknown) => {
        assert.ok(error instanceof EnvironmentError);
        assert.match(error.message, /missing environment variables: A, C/);
        return true;
      },
    );
  });
});
