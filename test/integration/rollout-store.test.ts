import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { loadConfig } from "../../lib/config/load.ts";
import { parseImageStateEvent } from "../../lib/events/image-state.ts";
import { planRollout, rolloutNameOf } from "../../lib/rollout/plan.ts";
import {
  createRollout,
  getRollout,
  indexPipelineRollout,
  latestRollouts,
  markWaveDispatched,
  resolveRolloutId,
  rolloutKey,
} from "../../lib/rollout/store.ts";
import { type LocalDynamo, startDynamo } from "../helpers/dynalite.ts";
import { loadEvent, repoPath } from "../helpers/fixtures.ts";

const config = loadConfig(repoPath("config/orchestrator.yml"));
const [change] = parseImageStateEvent(loadEvent("imagebuilder-sns-available"));
const image = { ...(change as NonNullable<typeof change>), amis: change?.amis ?? [] };
const plan = planRollout(
  config,
  config.pipelines[0] as NonNullable<(typeof config.pipelines)[0]>,
  image,
);
const NOW = "2026-11-23T02:41:18.000Z";

describe("rollout records in DynamoDB (dynalite)", () => {
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynamo();
  });
  after(() => dynamo.close());

  it("creates the rollout and every target", async () => {
    const { created, record } = await createRollout(dynamo.db, dynamo.table, plan, NOW);

    assert.equal(created, true);
    assert.equal(record.dispatchedWave, -1);
    assert.equal(record.waveCount, 2);
    const { Items: items = [] } = await dynamo.db.send(
      new QueryCommand({
        TableName: dynamo.table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :target)",
        ExpressionAttributeValues: { ":pk": rolloutKey(plan.rolloutId).pk, ":target": "TARGET#" },
      }),
    );
    assert.deepEqual(
      items.map((item) => `${item.sk} ${item.wave} ${item.amiId} ${item.status}`).sort(),
      [
        "TARGET#111111111111#eu-west-1 dev ami-0a1b2c3d4e5f60002 pending",
        "TARGET#222222222222#eu-west-1 prod ami-0a1b2c3d4e5f60003 pending",
        "TARGET#222222222222#eu-west-3 prod ami-0a1b2c3d4e5f60004 pending",
      ],
    );
  });

  it("a duplicate notification creates nothing and returns the stored record", async () => {
    await markWaveDispatched(dynamo.db, dynamo.table, plan.rolloutId, 0, NOW);

    const again = await createRollout(dynamo.db, dynamo.table, plan, "2026-11-23T03:00:00.000Z");

    assert.equal(again.created, false);
    assert.equal(again.record.createdAt, NOW);
    assert.equal(again.record.dispatchedWave, 0);
  });

  it("only one of two concurrent duplicate deliveries creates the rollout", async () => {
    const other = { ...plan, rolloutId: "race/1.0.0/1" };

    const results = await Promise.all([
      createRollout(dynamo.db, dynamo.table, other, NOW),
      createRollout(dynamo.db, dynamo.table, other, NOW),
    ]);

    assert.deepEqual(results.map((result) => result.created).sort(), [false, true]);
  });

  it("records wave dispatch only forward", async () => {
    assert.equal(await markWaveDispatched(dynamo.db, dynamo.table, plan.rolloutId, 0, NOW), false);
    assert.equal(await markWaveDispatched(dynamo.db, dynamo.table, plan.rolloutId, 1, NOW), true);
    assert.equal(await markWaveDispatched(dynamo.db, dynamo.table, plan.rolloutId, 1, NOW), false);
    assert.equal((await getRollout(dynamo.db, dynamo.table, plan.rolloutId))?.dispatchedWave, 1);
  });

  it("a redelivery after a crash between the target writes and the record completes the rollout", async () => {
    const crashed = { ...plan, rolloutId: "crash/1.0.0/1" };
    let puts = 0;
    const flaky = {
      send: (command: unknown) => {
        if (command instanceof PutCommand && ++puts === 2)
          return Promise.reject(new Error("Lambda timed out"));
        return dynamo.db.send(command as never);
      },
    } as typeof dynamo.db;
    await assert.rejects(createRollout(flaky, dynamo.table, crashed, NOW), /timed out/);
    assert.equal(await getRollout(dynamo.db, dynamo.table, crashed.rolloutId), undefined);

    const redelivered = await createRollout(dynamo.db, dynamo.table, crashed, NOW);

    assert.equal(redelivered.created, true);
    const { Items: items = [] } = await dynamo.db.send(
      new QueryCommand({
        TableName: dynamo.table,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": rolloutKey(crashed.rolloutId).pk },
      }),
    );
    assert.equal(items.length, 1 + crashed.targets.length);
  });

  it("keeps the distribution mismatches on the record", async () => {
    const partial = planRollout(
      config,
      config.pipelines[0] as NonNullable<(typeof config.pipelines)[0]>,
      {
        ...image,
        imageArn: image.imageArn.replace("/7", "/8"),
        amis: image.amis.filter((ami) => ami.region !== "eu-west-3"),
      },
    );
    await createRollout(dynamo.db, dynamo.table, partial, NOW);
    const { Item: item } = await dynamo.db.send(
      new GetCommand({ TableName: dynamo.table, Key: rolloutKey(partial.rolloutId) }),
    );
    assert.deepEqual(item?.targetsWithoutAmi, [
      {
        wave: "prod",
        waveIndex: 1,
        account: "prod",
        accountId: "222222222222",
        region: "eu-west-3",
      },
    ]);
  });

  it("orders a pipeline's rollouts by image version, and resolves the names people type", async () => {
    const at = (version: string, build: number, account = "999999999999") =>
      `arn:aws:imagebuilder:eu-west-1:${account}:image/web/${version}/${build}`;
    // Indexed in arrival order: newest image first, then older ones, then a same-named image
    // of another account's pipeline.
    for (const [arn, pipeline] of [
      [at("1.10.0", 1), "web"],
      [at("1.9.0", 12), "web"],
      [at("1.10.0", 0), "web"],
      [at("1.10.0", 1, "888888888888"), "web-team-b"],
    ] as const) {
      const web = { ...plan, rolloutId: arn, name: rolloutNameOf(arn), pipeline, imageArn: arn };
      await createRollout(dynamo.db, dynamo.table, web, NOW);
      await indexPipelineRollout(dynamo.db, dynamo.table, { ...web, createdAt: NOW });
    }

    assert.deepEqual(await latestRollouts(dynamo.db, dynamo.table, "web", 5), [
      at("1.10.0", 1),
      at("1.10.0", 0),
      at("1.9.0", 12),
    ]);
    assert.equal(
      await resolveRolloutId(dynamo.db, dynamo.table, "web/1.9.0/12", "web"),
      at("1.9.0", 12),
    );
    assert.equal(await resolveRolloutId(dynamo.db, dynamo.table, at("1.9.0", 12)), at("1.9.0", 12));
    assert.equal(
      await resolveRolloutId(dynamo.db, dynamo.table, "web/1.10.0/1", "web"),
      at("1.10.0", 1),
    );
    await assert.rejects(
      resolveRolloutId(dynamo.db, dynamo.table, "web/1.10.0/1"),
      /rollout name "web\/1\.10\.0\/1" is ambiguous: use one of arn:/,
    );
  });
});
