import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RolloutTarget } from "../../lib/rollout/plan.ts";
import { rolloutStatusLines } from "../../lib/rollout/status.ts";
import { getRollout, putGroup, type RolloutRecord, updateTarget } from "../../lib/rollout/store.ts";
import { recordTargetOutcome } from "../../lib/rollout/wave-progress.ts";
import { type LocalDynamo, startDynamo } from "../helpers/dynalite.ts";
import { appRolloutSent } from "../helpers/rollout-records.ts";

const NOW = "2026-11-23T08:00:00.000Z";

/**
 * `npm run rollout -- status` on a large rollout (issue 20): the first targets, counts for the
 * rest, and every one or only the failed ones on request, reading what it shows and no more.
 */
describe("status pages through a rollout's targets", () => {
  let dynamo: LocalDynamo;
  let itemsRead = 0;
  let record: RolloutRecord;
  const SIZE = 260;
  const target = (index: number): RolloutTarget => ({
    wave: "prod",
    waveIndex: 0,
    account: "prod",
    accountId: "222222222222",
    region: `region-${String(index).padStart(3, "0")}`,
    amiId: "ami-0d",
  });
  const lines = async (options: Parameters<typeof rolloutStatusLines>[4]) => {
    itemsRead = 0;
    const all: string[] = [];
    for await (const line of rolloutStatusLines(dynamo.db, dynamo.table, record, ["prod"], options))
      all.push(line);
    return all;
  };

  before(async () => {
    dynamo = await startDynamo();
    dynamo.db.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = (result.output ?? {}) as {
          Item?: unknown;
          Items?: unknown[];
          Count?: number;
        };
        itemsRead += (output.Item ? 1 : 0) + (output.Items?.length ?? output.Count ?? 0);
        return result;
      },
      { step: "initialize", name: "countItemsRead" },
    );
    const rolloutId = "app/1.0.0/1";
    const targets = Array.from({ length: SIZE }, (_, index) => target(index));
    await appRolloutSent(dynamo, { rolloutId, targets, at: NOW });
    // Two targets failed, each with its group.
    for (const index of [7, 200]) {
      const failed = target(index);
      await updateTarget(dynamo.db, dynamo.table, rolloutId, failed, { status: "refreshing" }, NOW);
      await putGroup(dynamo.db, dynamo.table, rolloutId, {
        group: "web",
        accountId: failed.accountId,
        region: failed.region,
        status: "failed",
        reason: "instances failed health checks",
        updatedAt: NOW,
      });
      await recordTargetOutcome(dynamo.db, dynamo.table, rolloutId, failed, NOW);
    }
    record = (await getRollout(dynamo.db, dynamo.table, rolloutId)) as RolloutRecord;
  });
  after(() => dynamo.close());

  it("shows the first targets and counts the rest, reading only those", async () => {
    const shown = await lines({ limit: 50 });
    assert.ok(shown.includes("  targets: 260 · succeeded 0 · failed 2 · not finished 258"));
    assert.equal(shown.filter((line) => line.includes("region-")).length, 50);
    assert.equal(
      shown.at(-1),
      "  … 210 more target(s): --all lists every one, --failed the failed ones",
    );
    // 50 targets and their groups, the record, and the index counted: not the 260 targets.
    assert.ok(itemsRead < 130 + (2 * SIZE) / 2, `read ${itemsRead} items`);
    assert.ok(itemsRead < (await lines(undefined).then(() => itemsRead)), "--all reads more");
  });

  it("lists every target with --all, page after page, the header row once", async () => {
    const shown = await lines({});
    assert.equal(shown.filter((line) => line.includes("region-")).length, SIZE);
    assert.equal(shown.filter((line) => line.trimStart().startsWith("wave ")).length, 1);
    assert.ok(!shown.some((line) => line.includes("more target(s)")));
  });

  it("lists only the failed targets with --failed, with their reason", async () => {
    const shown = await lines({ failedOnly: true });
    const rows = shown.filter((line) => line.includes("region-"));
    assert.deepEqual(
      rows.map((line) => line.match(/region-\d+/)?.[0]),
      ["region-007", "region-200"],
    );
    assert.ok(rows.every((line) => line.includes("instances failed health checks")));
  });
});
