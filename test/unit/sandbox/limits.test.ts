import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { CallContext } from "../../../sandbox/model/faults.ts";
import { KmsModel } from "../../../sandbox/model/kms.ts";
import { SandboxWorld } from "../../../sandbox/model/world.ts";
import { type LocalDynamo, startDynamo } from "../../helpers/dynalite.ts";

const ACCOUNT = "111111111111";
const REGION = "eu-west-1";
const newWorld = () =>
  new SandboxWorld({
    start: "2025-06-02T10:00:00Z",
    orchestratorAccountId: ACCOUNT,
    orchestratorRegion: REGION,
  });
const call = (world: SandboxWorld, service: string, operation: string, input: object) =>
  world.call({
    service,
    operation,
    accountId: ACCOUNT,
    region: REGION,
    input: input as CallContext["input"],
  });
const refusedWith = (name: string, message?: RegExp) => (error: unknown) => {
  assert.equal((error as Error).name, name);
  if (message) assert.match((error as Error).message, message);
  return true;
};

describe("the sandbox refuses what AWS documents as refused", () => {
  describe("SQS SendMessage and SendMessageBatch", () => {
    const world = newWorld();
    const queue = world.sqs.addQueue({ accountId: ACCOUNT, region: REGION, name: "rollout" });
    const small = world.sqs.addQueue({
      accountId: ACCOUNT,
      region: REGION,
      name: "small",
      maximumMessageSize: 262_144,
    });

    it("takes DelaySeconds from 0 to 900, and nothing above", async () => {
      await call(world, "sqs", "SendMessage", {
        QueueUrl: queue.url,
        MessageBody: "{}",
        DelaySeconds: 900,
      });
      await assert.rejects(
        call(world, "sqs", "SendMessage", {
          QueueUrl: queue.url,
          MessageBody: "{}",
          DelaySeconds: 901,
        }),
        refusedWith("InvalidParameterValue", /DelaySeconds/),
      );
      await assert.rejects(
        call(world, "sqs", "SendMessageBatch", {
          QueueUrl: queue.url,
          Entries: [{ Id: "1", MessageBody: "{}", DelaySeconds: 901 }],
        }),
        refusedWith("InvalidParameterValue", /DelaySeconds/),
      );
    });

    it("takes a message up to the queue's MaximumMessageSize, 1 MiB unless set, counted in bytes", async () => {
      await call(world, "sqs", "SendMessage", {
        QueueUrl: queue.url,
        MessageBody: "x".repeat(1_048_576),
      });
      await assert.rejects(
        call(world, "sqs", "SendMessage", {
          QueueUrl: queue.url,
          MessageBody: "x".repeat(1_048_577),
        }),
        refusedWith("InvalidParameterValue", /shorter than 1048576 bytes/),
      );
      // 131,072 two-byte characters are 262,144 bytes; one more byte is over a 256 KiB queue.
      await call(world, "sqs", "SendMessage", {
        QueueUrl: small.url,
        MessageBody: "é".repeat(131_072),
      });
      await assert.rejects(
        call(world, "sqs", "SendMessage", {
          QueueUrl: small.url,
          MessageBody: `${"é".repeat(131_072)}x`,
        }),
        refusedWith("InvalidParameterValue", /shorter than 262144 bytes/),
      );
    });

    it("refuses a batch whose messages add up to more than 1 MiB", async () => {
      const half = "x".repeat(524_288);
      await call(world, "sqs", "SendMessageBatch", {
        QueueUrl: queue.url,
        Entries: [
          { Id: "1", MessageBody: half },
          { Id: "2", MessageBody: half },
        ],
      });
      await assert.rejects(
        call(world, "sqs", "SendMessageBatch", {
          QueueUrl: queue.url,
          Entries: [
            { Id: "1", MessageBody: half },
            { Id: "2", MessageBody: `${half}x` },
          ],
        }),
        refusedWith("AWS.SimpleQueueService.BatchRequestTooLong"),
      );
    });
  });

  describe("SNS Publish", () => {
    const world = newWorld();
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts`;
    const publish = (input: object) =>
      call(world, "sns", "Publish", { TopicArn: topic, Message: "hello", ...input });

    it("takes a subject under 100 characters, without line breaks or control characters", async () => {
      await publish({ Subject: `Build failed: ${"é".repeat(85)}` });
      await assert.rejects(
        publish({ Subject: "x".repeat(100) }),
        refusedWith("InvalidParameterException", /Subject/),
      );
      await assert.rejects(
        publish({ Subject: "two\nlines" }),
        refusedWith("InvalidParameterException", /Subject/),
      );
      await assert.rejects(
        publish({ Subject: "a\ttab" }),
        refusedWith("InvalidParameterException", /Subject/),
      );
    });

    it("takes a message of at most 262,144 bytes, not characters", async () => {
      await publish({ Message: "é".repeat(131_072) });
      await assert.rejects(
        publish({ Message: `${"é".repeat(131_072)}x` }),
        refusedWith("InvalidParameterException", /Message too long/),
      );
    });
  });

  describe("KMS CreateGrant", () => {
    it("refuses a 50,001st grant on a customer managed key with LimitExceededException", async () => {
      const world = newWorld();
      const key = world.kms.addKey({
        arn: KmsModel.keyArn(ACCOUNT, REGION, "ami"),
        accountId: ACCOUNT,
        region: REGION,
        manager: "CUSTOMER",
      });
      const grant = (name: string) =>
        call(world, "kms", "CreateGrant", {
          KeyId: key.arn,
          GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/${name}`,
          Operations: ["Decrypt"],
        });
      for (let index = 0; index < 49_999; index += 1)
        world.kms.grants.push({
          grantId: `grant-${index}`,
          keyArn: key.arn,
          granteePrincipal: `arn:aws:iam::${ACCOUNT}:role/r${index}`,
          operations: ["Decrypt"],
          createdBy: ACCOUNT,
          createdAt: 0,
        });
      await grant("the-50000th");
      assert.equal(world.kms.grantsOn(key.arn).length, 50_000);
      await assert.rejects(grant("one-too-many"), refusedWith("LimitExceededException"));
    });
  });

  describe("KMS grants and new IAM roles", () => {
    const customerKey = (world: SandboxWorld) =>
      world.kms.addKey({
        arn: KmsModel.keyArn(ACCOUNT, REGION, "ami"),
        accountId: ACCOUNT,
        region: REGION,
        manager: "CUSTOMER",
      });

    it("gives a grant created again after a revoke a new GrantId (the same Name returns the original only while it exists)", async () => {
      const world = newWorld();
      const key = customerKey(world);
      const grantee = world.iam.addServiceLinkedRole(ACCOUNT);
      const create = async () =>
        (
          (await call(world, "kms", "CreateGrant", {
            KeyId: key.arn,
            GranteePrincipal: grantee,
            Operations: ["Decrypt"],
            Name: "ami-orchestrator-grant",
          })) as { GrantId: string }
        ).GrantId;
      const first = await create();
      assert.equal(await create(), first, "a retry returns the grant that exists");

      world.kms.revokeGrants(key.arn, grantee);
      const recreated = await create();

      assert.notEqual(recreated, first);
      world.clock.advance(world.kms.propagationMs - 1);
      assert.equal(world.kms.usableBy(key.arn, grantee, world.clock.now()), false);
    });

    it("refuses a grantee role IAM created moments ago with InvalidArnException, until it propagated", async () => {
      const world = newWorld();
      const key = customerKey(world);
      const created = (await call(world, "iam", "CreateServiceLinkedRole", {
        AWSServiceName: "autoscaling.amazonaws.com",
      })) as { Role: { Arn: string } };
      const grant = () =>
        call(world, "kms", "CreateGrant", {
          KeyId: key.arn,
          GranteePrincipal: created.Role.Arn,
          Operations: ["Decrypt"],
        });

      await assert.rejects(
        grant(),
        refusedWith("InvalidArnException", /ARN does not refer to a valid principal/),
      );
      world.clock.advance(world.iam.propagationMs);
      await grant();
    });
  });

  describe("DynamoDB (dynalite)", () => {
    let dynamo: LocalDynamo;
    before(async () => {
      dynamo = await startDynamo();
    });
    after(() => dynamo.close());

    // "The maximum item size in DynamoDB is 400 KB, which includes both attribute name binary
    // length (UTF-8 length) and attribute value lengths" (DynamoDB developer guide, quotas).
    const item = (bytes: number) => ({
      pk: "p",
      sk: "s",
      // 4 + 2 bytes of names and values besides `data` (4 bytes of name).
      data: "x".repeat(bytes - 4 - 2 - 4),
    });

    it("stores an item of 400 KB and refuses one byte more", async () => {
      await dynamo.db.send(new PutCommand({ TableName: dynamo.table, Item: item(409_600) }));
      await assert.rejects(
        dynamo.db.send(new PutCommand({ TableName: dynamo.table, Item: item(409_601) })),
        refusedWith("ValidationException", /Item size has exceeded the maximum allowed size/),
      );
    });
  });
});
