import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { createRolloutStore, MalformedItemError } from "../../../lib/rollout/store/index.ts";

const ROLLOUT = "arn:aws:imagebuilder:eu-west-1:999999999999:image/app/1.0.0/1";
const WHERE = { accountId: "111111111111", region: "eu-west-1" };

/** A target item as createRollout and roll-out-target leave it. */
const targetItem = (fields: Record<string, unknown> = {}) => ({
  pk: `ROLLOUT#${ROLLOUT}`,
  sk: "TARGET#111111111111#eu-west-1",
  type: "target",
  rolloutId: ROLLOUT,
  wave: "dev",
  waveIndex: 0,
  account: "dev",
  accountId: "111111111111",
  region: "eu-west-1",
  amiId: "ami-0a1b2c3d4e5f60002",
  status: "refreshing",
  progress: "open#0000#111111111111#eu-west-1",
  grants: [
    {
      keyArn: "arn:aws:kms:eu-west-1:999999999999:key/1",
      granteePrincipal: "arn:aws:iam::111111111111:role/slr",
      grantName: "g",
      grantId: "id-1",
    },
  ],
  ...fields,
});

const rolloutItem = (fields: Record<string, unknown> = {}) => ({
  pk: `ROLLOUT#${ROLLOUT}`,
  sk: "META",
  type: "rollout",
  rolloutId: ROLLOUT,
  status: "in-progress",
  approvals: {},
  pipeline: "app",
  imageArn: ROLLOUT,
  createdAt: "2026-11-23T03:00:00.000Z",
  dispatchedWave: 0,
  waveCount: 1,
  targetsWithoutAmi: [],
  amisWithoutTarget: [],
  ...fields,
});

describe("items are checked when the rollout store reads them", () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const store = createRolloutStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-1" })),
    "state",
  );
  beforeEach(() => dynamo.reset());

  it("returns a well-formed target as stored, with the fields no schema names (its key, its type)", async () => {
    dynamo.on(GetCommand).resolves({ Item: targetItem() });

    const target = await store.targets.get(ROLLOUT, WHERE);

    assert.deepEqual(target, targetItem());
  });

  it("refuses a target whose status is not a target status, naming its key and the field", async () => {
    dynamo.on(GetCommand).resolves({ Item: targetItem({ status: "done" }) });

    const refused = await store.targets.get(ROLLOUT, WHERE).then(
      () => assert.fail("a malformed target was returned"),
      (error: unknown) => error,
    );

    assert.ok(refused instanceof MalformedItemError, String(refused));
    assert.deepEqual(refused.key, {
      pk: `ROLLOUT#${ROLLOUT}`,
      sk: "TARGET#111111111111#eu-west-1",
    });
    assert.deepEqual(refused.fields, ["status"]);
    assert.match(
      refused.message,
      /stored target item \(pk "ROLLOUT#arn:aws:imagebuilder:.*", sk "TARGET#111111111111#eu-west-1"\)/,
    );
    assert.match(refused.message, /status: expected "pending" or .* or "cancelled" \(got "done"\)/);
  });

  it("names a nested field by its path, and a missing one as missing", async () => {
    const grant = targetItem().grants[0];
    dynamo.on(GetCommand).resolves({
      Item: targetItem({ grants: [{ ...grant, grantId: undefined }], waveIndex: "0" }),
    });

    await assert.rejects(store.targets.get(ROLLOUT, WHERE), (error: unknown) => {
      assert.ok(error instanceof MalformedItemError);
      assert.deepEqual([...error.fields].sort(), ["grants[0].grantId", "waveIndex"]);
      assert.match(error.message, /grants\[0\]\.grantId: expected string \(missing\)/);
      assert.match(error.message, /waveIndex: expected number \(got "0"\)/);
      return true;
    });
  });

  it("refuses a rollout record missing a field every rollout has, when read alone or whole", async () => {
    const { dispatchedWave: _, ...withoutWave } = rolloutItem();
    dynamo.on(GetCommand).resolves({ Item: withoutWave });
    dynamo.on(QueryCommand).resolves({ Items: [withoutWave, targetItem()] });

    for (const read of [() => store.rollouts.get(ROLLOUT), () => store.rollouts.load(ROLLOUT)]) {
      await assert.rejects(read(), (error: unknown) => {
        assert.ok(error instanceof MalformedItemError);
        assert.deepEqual(error.key, { pk: `ROLLOUT#${ROLLOUT}`, sk: "META" });
        assert.deepEqual(error.fields, ["dispatchedWave"]);
        return true;
      });
    }
  });

  it("refuses a group record with an unknown status among a target's groups", async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [
        {
          pk: `ROLLOUT#${ROLLOUT}`,
          sk: "GROUP#111111111111#eu-west-1#web",
          type: "group",
          rolloutId: ROLLOUT,
          group: "web",
          accountId: "111111111111",
          region: "eu-west-1",
          status: "Successful",
          updatedAt: "2026-11-23T03:00:00.000Z",
        },
      ],
    });

    await assert.rejects(store.groups.list(ROLLOUT, WHERE), (error: unknown) => {
      assert.ok(error instanceof MalformedItemError);
      assert.equal(error.key.sk, "GROUP#111111111111#eu-west-1#web");
      assert.deepEqual(error.fields, ["status"]);
      return true;
    });
  });

  it("refuses an entry of the refresh index that does not name its group", async () => {
    dynamo.on(GetCommand).resolves({
      Item: { pk: "REFRESH#111111111111#eu-west-1#r-1", sk: "META", rolloutId: ROLLOUT },
    });

    await assert.rejects(
      store.refreshes.find("111111111111", "eu-west-1", "r-1"),
      /stored refresh index item \(pk "REFRESH#111111111111#eu-west-1#r-1", sk "META"\) is malformed: group: expected string \(missing\)/,
    );
  });

  it("reads the retried refresh's id from a group reset before the id had its own field", async () => {
    const reset = {
      pk: `ROLLOUT#${ROLLOUT}`,
      sk: "GROUP#111111111111#eu-west-1#web",
      type: "group",
      rolloutId: ROLLOUT,
      group: "web",
      accountId: "111111111111",
      region: "eu-west-1",
      status: "waiting",
      grantRetried: true,
      previousFailure: "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b: Client.InternalError: KMS",
      updatedAt: "2026-11-23T03:00:00.000Z",
    };
    dynamo.on(QueryCommand).resolves({ Items: [reset] });

    const [group] = await store.groups.list(ROLLOUT, WHERE);

    assert.equal(group?.previousRefreshId, "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b");
  });
});
