import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { claimEpisode } from "../../lib/launch-failures/episodes.ts";
import { type LocalDynamo, startDynamo } from "../helpers/dynalite.ts";

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
  let dynamo: LocalDynamo;
  before(async () => {
    dynamo = await startDynamo();
  });
  after(() => dynamo.close());

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
});
