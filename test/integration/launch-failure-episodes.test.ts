import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import {
  advanceEpisode,
  claimEpisode,
  type EpisodePlan,
  stateOf,
} from "../../lib/launch-failures/episodes.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";

const failure = (at: string, activityId: string) => ({
  accountId: "222222222222",
  region: "eu-west-3",
  group: "web-api",
  cause: "missing-grant",
  at,
  activityId,
});
const at = (minute: number) => new Date(Date.UTC(2026, 11, 21, 9, minute)).toISOString();

describe("launch-failure episodes in DynamoDB (dynalite)", () => {
  const dynamo = localDynamoSuite();

  it("40 failures in a row open one episode; a failure after a successful launch opens a new one", async () => {
    let successAfter: string | undefined;
    const options = (minute: number) => ({
      now: new Date(at(minute)),
      windowSeconds: 3600,
      launchedSince: async (since: string) => successAfter !== undefined && successAfter > since,
    });
    const claims = [];
    for (let n = 0; n < 40; n += 1)
      claims.push(
        await claimEpisode(dynamo.db, dynamo.table, failure(at(n), `a-${n}`), options(n)),
      );
    assert.equal(claims.filter((claim) => claim.opened).length, 1);
    assert.equal(claims.at(-1)?.record.failures, 40);

    successAfter = at(40);
    const recurrence = await claimEpisode(
      dynamo.db,
      dynamo.table,
      failure(at(45), "a-45"),
      options(45),
    );
    assert.equal(recurrence.opened, true);
    assert.equal(recurrence.record.activityId, "a-45");
    const next = await claimEpisode(dynamo.db, dynamo.table, failure(at(46), "a-46"), options(46));
    assert.equal(next.opened, false);
  });

  it("an episode with no failure for the whole window is over (TTL checked, not waited for)", async () => {
    const options = (minute: number) => ({
      now: new Date(at(minute)),
      windowSeconds: 600,
      launchedSince: async () => false,
    });
    const key = { ...failure(at(0), "b-0"), group: "web-frontend" };
    assert.equal((await claimEpisode(dynamo.db, dynamo.table, key, options(0))).opened, true);
    assert.equal(
      (await claimEpisode(dynamo.db, dynamo.table, { ...key, at: at(5) }, options(5))).opened,
      false,
    );
    assert.equal(
      (await claimEpisode(dynamo.db, dynamo.table, { ...key, at: at(30) }, options(30))).opened,
      true,
    );
  });

  it("concurrent deliveries of the first failure open one episode", async () => {
    const options = { now: new Date(at(0)), windowSeconds: 600, launchedSince: async () => false };
    const key = { ...failure(at(0), "c-0"), group: "api-batch" };
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => claimEpisode(dynamo.db, dynamo.table, key, options)),
    );
    assert.equal(claims.filter((claim) => claim.opened).length, 1);
  });

  it("an episode that heals opens as healing, with its alert and named grants, and its state only moves forward", async () => {
    const options = { now: new Date(at(0)), windowSeconds: 600, launchedSince: async () => false };
    const key = { ...failure(at(0), "d-0"), group: "web-heal" };
    const plan: EpisodePlan = {
      alert: {
        kind: "launch-failed",
        accountId: key.accountId,
        region: key.region,
        group: key.group,
        activityId: key.activityId,
        since: key.at,
        cause: key.cause,
        explanation: "no grant",
        chain: [],
        statusMessage: "Client.InternalError: Client error on launch",
        action: "created grant g-1 on k-1",
      },
      grants: [{ keyArn: "k-1", granteePrincipal: "slr", grantName: "g-1" }],
    };
    const opened = await claimEpisode(dynamo.db, dynamo.table, { ...key, plan }, options);
    assert.equal(opened.opened, true);
    // A retry (the same failure again) finds what the first attempt recorded, not a new plan.
    const again = await claimEpisode(
      dynamo.db,
      dynamo.table,
      { ...key, plan: { ...plan, grants: [] } },
      options,
    );
    assert.equal(again.opened, false);
    assert.equal(stateOf(again.record), "healing");
    assert.deepEqual(again.record.grants, plan.grants);
    assert.deepEqual(again.record.alert, plan.alert);

    const advance = (
      from: Parameters<typeof advanceEpisode>[3],
      to: Parameters<typeof advanceEpisode>[4],
    ) => advanceEpisode(dynamo.db, dynamo.table, key, from, to);
    assert.equal(await advance(["healing"], "healed"), true);
    assert.equal(await advance(["healing"], "healed"), false, "healed once");
    assert.equal(await advance(["claimed", "healed"], "alerted"), true);
    assert.equal(await advance(["claimed", "healing", "healed"], "healed"), false, "never back");
    const last = await claimEpisode(dynamo.db, dynamo.table, key, options);
    assert.equal(stateOf(last.record), "alerted");
  });

  it("an item written before states were recorded reads as what it says, and still advances", async () => {
    const key = { ...failure(at(0), "e-0"), group: "web-legacy" };
    await dynamo.db.send(
      new PutCommand({
        TableName: dynamo.table,
        Item: {
          pk: `launch-failure#${key.accountId}#${key.region}#${key.group}`,
          sk: key.cause,
          ...key,
          firstAt: key.at,
          lastAt: key.at,
          failures: 3,
          healed: true,
          expiration: Date.parse(at(10)) / 1000,
        },
      }),
    );
    const options = { now: new Date(at(1)), windowSeconds: 600, launchedSince: async () => false };
    const claim = await claimEpisode(dynamo.db, dynamo.table, key, options);
    assert.equal(stateOf(claim.record), "healed");
    assert.equal(
      await advanceEpisode(dynamo.db, dynamo.table, key, ["claimed", "healed"], "alerted"),
      true,
    );
    // No item, no stub: advancing an episode that is gone writes nothing.
    const gone = { ...key, group: "web-gone" };
    assert.equal(
      await advanceEpisode(dynamo.db, dynamo.table, gone, ["claimed"], "alerted"),
      false,
    );
  });
});
