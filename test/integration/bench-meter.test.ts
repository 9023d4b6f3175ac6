import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { installDynamoMeter, itemSize, largestItemInTable } from "../../bench/dynamo-meter.ts";
import { sizedBenchArgs, smokeProblems } from "../../bench/sized.ts";
import { runInInvocation } from "../../sandbox/invocation.ts";
import { type LocalDynamo, startDynamo } from "../helpers/dynalite.ts";

const asFunction = <T>(run: () => Promise<T>) =>
  runInInvocation({ functionName: "roll-out-target", steps: 0, crashed: false }, run);

describe("the bench's DynamoDB meter", () => {
  let dynamo: LocalDynamo;
  let metering: ReturnType<typeof installDynamoMeter>;
  before(async () => {
    dynamo = await startDynamo();
    metering = installDynamoMeter();
  });
  after(async () => {
    metering.uninstall();
    await dynamo.close();
  });

  it("counts the items the functions write and read, not the requests, and nothing outside them", async () => {
    const { db, table } = dynamo;
    const item = (sk: string) => ({ TableName: table, Item: { pk: "ROLLOUT#r", sk, n: 1 } });
    await asFunction(async () => {
      await db.send(new PutCommand(item("A")));
      await db.send(
        new BatchWriteCommand({
          RequestItems: { [table]: ["B", "C", "D"].map((sk) => ({ PutRequest: item(sk) })) },
        }),
      );
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: "ROLLOUT#r", sk: "A" },
          UpdateExpression: "SET n = :n",
          ExpressionAttributeValues: { ":n": 2 },
        }),
      );
      // A filter does not make the query cheaper: DynamoDB reads the 4 items, returns 1.
      const { Items } = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: "pk = :pk",
          FilterExpression: "n = :two",
          ExpressionAttributeValues: { ":pk": "ROLLOUT#r", ":two": 2 },
        }),
      );
      assert.equal(Items?.length, 1);
      await db.send(new GetCommand({ TableName: table, Key: { pk: "ROLLOUT#r", sk: "A" } }));
      await db.send(new GetCommand({ TableName: table, Key: { pk: "ROLLOUT#r", sk: "none" } }));
    });
    // The bench's own reads, outside any invocation, are not the functions' cost.
    await db.send(new GetCommand({ TableName: table, Key: { pk: "ROLLOUT#r", sk: "A" } }));

    const { meter } = metering;
    assert.equal(meter.itemsWritten, 1 + 3 + 1);
    assert.equal(meter.itemsRead, 4 + 1 + 0);
    assert.deepEqual(meter.requests, {
      PutItem: 1,
      BatchWriteItem: 1,
      UpdateItem: 1,
      Query: 1,
      GetItem: 2,
    });
  });

  it("sizes items as DynamoDB does: names plus values, 3 bytes per list or map and 1 per element", async () => {
    // pk: 2 + 2; n (123): 1 + (2 digit pairs + 1); tags ["x", "yz"]: 4 + (3 + (1 + 1) + (1 + 2)).
    const item = { pk: { S: "ab" }, n: { N: "123" }, tags: { L: [{ S: "x" }, { S: "yz" }] } };
    assert.equal(itemSize(item), 4 + 4 + 12);
    assert.equal(itemSize({ flag: { BOOL: true }, gone: { NULL: true } }), 5 + 5);
    assert.equal(itemSize({ m: { M: { a: { S: "é" } } } }), 1 + 3 + (1 + 1 + 2));

    await asFunction(() =>
      dynamo.db.send(
        new PutCommand({
          TableName: dynamo.table,
          Item: { pk: "ROLLOUT#big", sk: "META", reason: "x".repeat(5000) },
        }),
      ),
    );
    const expected = 2 + "ROLLOUT#big".length + 2 + 4 + 6 + 5000;
    assert.equal(metering.meter.largestPutBytes, expected);
    assert.equal(await largestItemInTable(dynamo.client, dynamo.table), expected);
  });
});

describe("npm run bench's arguments and smoke check", () => {
  it("reads --targets, --waves, --json and --max-wall-minutes, and refuses nonsense", () => {
    assert.equal(sizedBenchArgs([]), undefined, "no size: the full bench");
    assert.deepEqual(sizedBenchArgs(["--targets", "100", "--waves", "3", "--json"]), {
      targets: 100,
      waves: 3,
      json: true,
      smoke: false,
    });
    assert.equal(sizedBenchArgs(["--targets", "5", "--max-wall-minutes", "2"])?.maxWallMinutes, 2);
    assert.throws(() => sizedBenchArgs(["--targets", "many"]), /--targets must be .*"many"/);
    assert.throws(() => sizedBenchArgs(["--targets", "2.5"]), /--targets must be .*"2.5"/);
    assert.throws(() => sizedBenchArgs(["--json"]), /need --targets/);
    assert.throws(() => sizedBenchArgs(["--target", "5"]), /Unknown option '--target'/);
    assert.equal(sizedBenchArgs(["--smoke"])?.smoke, true);
  });

  it("the smoke check fails on a missing field, a group that failed, or a rollout that did not succeed", () => {
    const good = {
      targets: 2,
      groups: 6,
      status: "succeeded",
      awsCalls: 60,
      awsCallsPerTarget: 30,
      dynamoItemsRead: 300,
      dynamoItemsReadPerTarget: 150,
      dynamoItemsWritten: 70,
      largestItemBytes: 1400,
      throttled: 0,
      failedForGood: 0,
      cpuMs: 900,
      wallMs: 1000,
      peakRssMb: 250,
    };
    assert.deepEqual(smokeProblems(good), []);
    const { peakRssMb: _, ...withoutRss } = good;
    assert.deepEqual(smokeProblems(withoutRss), [
      "field peakRssMb is missing or not a number (undefined)",
    ]);
    assert.deepEqual(smokeProblems({ ...good, failedForGood: 3, status: "failed" }), [
      "failedForGood is 3",
      "the rollout ended failed",
    ]);
  });
});
