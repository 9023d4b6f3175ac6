import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { needsSettling } from "../../../lib/rollout/settle.ts";
import type { GroupRecord } from "../../../lib/rollout/store.ts";

const group = (fields: Partial<GroupRecord>): GroupRecord => ({
  group: "abs",
  accountId: "111111111111",
  region: "eu-west-1",
  status: "failed",
  launchTemplateId: "lt-0abc",
  previousVersion: 3,
  newVersion: 4,
  instanceRefreshId: "r-1",
  updatedAt: "2026-11-23T03:00:00.000Z",
  ...fields,
});

describe("what is left to do once a group's refresh has ended", () => {
  it("a group we updated before its refresh (attribute-based) is rolled back by us when it fails or is cancelled", () => {
    const updated = { rolledBy: "group-update" as const, groupUpdated: true };
    assert.equal(needsSettling(group({ ...updated, status: "failed" })), true);
    assert.equal(needsSettling(group({ ...updated, status: "cancelled" })), true);
    assert.equal(
      needsSettling(group({ ...updated, status: "failed", rollbackRefreshId: "r-2" })),
      false,
    );
  });

  it("nothing to undo for a group whose update never happened (it waited, then gave up)", () => {
    assert.equal(needsSettling(group({ rolledBy: "group-update", status: "failed" })), false);
  });

  it("a group AWS rolls back itself needs nothing from us unless it was pinned", () => {
    assert.equal(needsSettling(group({ status: "rolled-back" })), false);
    assert.equal(needsSettling(group({ status: "rolled-back", follows: "$Default" })), true);
  });
});
