import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  CreateGrantCommand,
  DescribeKeyCommand,
  KMSClient,
  LimitExceededException,
} from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import {
  AUTO_SCALING_GRANT_OPERATIONS,
  describeKeyOwnership,
  ensureGrant,
  GrantRefusedError,
  grantName,
} from "../../../lib/kms/grants.ts";
import { amiEncryption } from "../../../lib/kms/snapshot-keys.ts";

const kms = mockClient(KMSClient);
const ec2 = mockClient(EC2Client);
const KEY = "arn:aws:kms:eu-west-1:999999999999:key/1f2e3d4c-0000-4a5b-8c9d-111122223333";
const SLR =
  "arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
const CUSTOM_SLR = `${SLR}_web`;

describe("KMS grants for the Auto Scaling service-linked role", () => {
  beforeEach(() => {
    kms.reset();
    ec2.reset();
  });

  it("grants exactly the documented operations to the group's role, on the full key ARN, with a stable name", async () => {
    kms.on(CreateGrantCommand).resolves({ GrantId: "g-1", GrantToken: "t" });

    const grant = await ensureGrant(
      new KMSClient({}),
      { keyArn: KEY, granteePrincipal: SLR },
      "111111111111",
    );

    assert.equal(grant.grantId, "g-1");
    assert.deepEqual(kms.commandCalls(CreateGrantCommand)[0]?.args[0].input, {
      KeyId: KEY,
      GranteePrincipal: SLR,
      Operations: [
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "DescribeKey",
        "CreateGrant",
      ],
      Name: grant.grantName,
    });
    assert.equal(AUTO_SCALING_GRANT_OPERATIONS.length, 8);
  });

  it("names grants deterministically per key and role, within KMS's name rules", () => {
    assert.equal(grantName(KEY, SLR), grantName(KEY, SLR));
    assert.notEqual(grantName(KEY, SLR), grantName(KEY, CUSTOM_SLR));
    assert.notEqual(grantName(KEY, SLR), grantName(KEY.replace("eu-west-1", "eu-west-3"), SLR));
    assert.match(
      grantName(KEY, CUSTOM_SLR),
      /^ami-orchestrator-AWSServiceRoleForAutoScaling_web-[0-9a-f]{16}$/,
    );
    assert.match(grantName(KEY, "arn:aws:iam::1:role/a+b=c,d.e@f"), /^[a-zA-Z0-9:/_-]{1,256}$/);
  });

  it("explains AccessDenied: which key policy statement is missing, for which account", async () => {
    kms.on(CreateGrantCommand).rejects(
      Object.assign(new Error("User: arn:... is not authorized to perform: kms:CreateGrant"), {
        name: "AccessDeniedException",
      }),
    );

    await assert.rejects(
      ensureGrant(new KMSClient({}), { keyArn: KEY, granteePrincipal: SLR }, "111111111111"),
      (error: unknown) => {
        assert.ok(error instanceof GrantRefusedError);
        assert.equal(error.retryable, false);
        assert.match(
          error.message,
          /kms:CreateGrant on .*key\/1f2e3d4c.* refused for account 111111111111/,
        );
        assert.match(error.message, /key policy in account 999999999999 must allow/);
        assert.match(error.message, /"Principal":\{"AWS":"arn:aws:iam::111111111111:root"\}/);
        assert.match(error.message, /no kms:GrantIsForAWSResource condition/);
        return true;
      },
    );
  });

  it("makes the grant quota error readable", async () => {
    kms
      .on(CreateGrantCommand)
      .rejects(new LimitExceededException({ message: "limit", $metadata: {} }));
    await assert.rejects(
      ensureGrant(new KMSClient({}), { keyArn: KEY, granteePrincipal: SLR }, "111111111111"),
      /grant quota/,
    );
  });

  it("tells customer-managed keys (grant needed) from AWS-managed ones (none possible or needed)", async () => {
    kms
      .on(DescribeKeyCommand)
      .resolvesOnce({ KeyMetadata: { KeyId: "k", KeyManager: "CUSTOMER", KeyState: "Enabled" } })
      .resolvesOnce({ KeyMetadata: { KeyId: "k", KeyManager: "AWS", KeyState: "Enabled" } });
    const client = new KMSClient({});
    assert.equal(await describeKeyOwnership(client, KEY, "111111111111"), "customer");
    assert.equal(await describeKeyOwnership(client, KEY, "111111111111"), "aws-managed");
  });

  it("refuses a disabled key with a clear message", async () => {
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: { KeyId: "k", KeyManager: "CUSTOMER", KeyState: "PendingDeletion" },
    });
    await assert.rejects(
      describeKeyOwnership(new KMSClient({}), KEY, "111111111111"),
      /is PendingDeletion/,
    );
  });
});

describe("amiEncryption", () => {
  beforeEach(() => ec2.reset());

  const image = (ownerId: string) => ({
    Images: [
      {
        ImageId: "ami-1",
        OwnerId: ownerId,
        BlockDeviceMappings: [
          { DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-1" } },
          { DeviceName: "/dev/xvdb", Ebs: { SnapshotId: "snap-2" } },
          { DeviceName: "/dev/xvdc", Ebs: { SnapshotId: "snap-3" } },
          { DeviceName: "/dev/sdz", VirtualName: "ephemeral0" },
        ],
      },
    ],
  });

  it("finds the distinct keys of a copy owned by the target, in one DescribeSnapshots call", async () => {
    ec2.on(DescribeImagesCommand).resolves(image("111111111111"));
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: "snap-1", Encrypted: true, KmsKeyId: KEY },
        { SnapshotId: "snap-2", Encrypted: true, KmsKeyId: KEY },
        { SnapshotId: "snap-3", Encrypted: false },
      ],
    });
    const target = new EC2Client({});

    const encryption = await amiEncryption("ami-1", {
      target,
      targetAccountId: "111111111111",
      owner: () => undefined,
    });

    assert.deepEqual(encryption.keyArns, [KEY]);
    assert.deepEqual(encryption.unencryptedSnapshotIds, ["snap-3"]);
    assert.deepEqual(ec2.commandCalls(DescribeSnapshotsCommand)[0]?.args[0].input, {
      SnapshotIds: ["snap-1", "snap-2", "snap-3"],
    });
  });

  it("describes the snapshots of a shared AMI from the account that owns them", async () => {
    ec2.on(DescribeImagesCommand).resolves(image("999999999999"));
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: ["snap-1", "snap-2", "snap-3"].map((SnapshotId) => ({
        SnapshotId,
        Encrypted: true,
        KmsKeyId: KEY,
      })),
    });
    const target = new EC2Client({ region: "eu-west-1" });
    const build = new EC2Client({ region: "eu-west-1" });
    const asked: string[] = [];

    const encryption = await amiEncryption("ami-1", {
      target,
      targetAccountId: "111111111111",
      owner: (accountId) => {
        asked.push(accountId);
        return build;
      },
    });

    assert.deepEqual(asked, ["999999999999"]);
    assert.equal(encryption.ownerId, "999999999999");
    assert.equal(ec2.commandCalls(DescribeSnapshotsCommand)[0]?.thisValue, build);
  });

  it("reads a shared AMI's snapshot keys from its owner once, then from the cache, for every other target", async () => {
    ec2.on(DescribeImagesCommand).resolves(image("999999999999"));
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: ["snap-1", "snap-2", "snap-3"].map((SnapshotId) => ({
        SnapshotId,
        Encrypted: true,
        KmsKeyId: KEY,
      })),
    });
    const kept = new Map<string, Omit<Awaited<ReturnType<typeof amiEncryption>>, "amiId">>();
    const cache = {
      get: async (amiId: string) => kept.get(amiId),
      put: async (
        amiId: string,
        facts: Omit<Awaited<ReturnType<typeof amiEncryption>>, "amiId">,
      ) => {
        kept.set(amiId, facts);
      },
    };
    const build = new EC2Client({ region: "eu-west-1" });
    const results = [];
    for (const targetAccountId of ["111111111111", "222222222222", "333333333333"])
      results.push(
        await amiEncryption("ami-1", {
          target: new EC2Client({ region: "eu-west-1" }),
          targetAccountId,
          owner: () => build,
          cache,
        }),
      );
    assert.equal(ec2.commandCalls(DescribeSnapshotsCommand).length, 1, "the owner read once");
    // Each target still proves the AMI is visible to it.
    assert.equal(ec2.commandCalls(DescribeImagesCommand).length, 3);
    assert.ok(results.every((result) => result.keyArns.join() === KEY));
  });

  for (const [answer, reply] of [
    ["answers InvalidSnapshot.NotFound", "not-found"],
    ["leaves them out of its answer", "left-out"],
  ] as const) {
    it(`fails, naming why, when AWS ${answer} for snapshots the caller cannot see`, async () => {
      // A shared AMI whose owner the orchestrator cannot reach: the target describes them itself.
      ec2.on(DescribeImagesCommand).resolves(image("888888888888"));
      if (reply === "not-found")
        ec2.on(DescribeSnapshotsCommand).rejects(
          Object.assign(new Error("The snapshot 'snap-1' does not exist."), {
            name: "InvalidSnapshot.NotFound",
          }),
        );
      else ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });

      await assert.rejects(
        amiEncryption("ami-1", {
          target: new EC2Client({}),
          targetAccountId: "111111111111",
          owner: () => undefined,
        }),
        /cannot read snapshots snap-1, snap-2, snap-3 of AMI ami-1 \(owned by 888888888888\) from account 111111111111: a shared AMI's snapshots are described with its owner's credentials/,
      );
    });
  }

  it("says when the AMI is not visible in the target account", async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    await assert.rejects(
      amiEncryption("ami-1", {
        target: new EC2Client({}),
        targetAccountId: "111111111111",
        owner: () => undefined,
      }),
      /AMI ami-1 is not visible in account 111111111111/,
    );
  });
});
