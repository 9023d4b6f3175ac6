import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderRollout } from "../../../lib/rollout/status.ts";
import type { GroupRecord, RolloutState } from "../../../lib/rollout/store.ts";

const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.4.0/7";

const state = (groups: GroupRecord[]): RolloutState => ({
  record: {
    rolloutId: IMAGE,
    name: "base-al2023/1.4.0/7",
    status: "in-progress",
    approvals: {},
    pipeline: "base-al2023",
    imageArn: IMAGE,
    createdAt: "2026-11-23T02:45:00.000Z",
    dispatchedWave: 0,
    waveCount: 1,
    targetsWithoutAmi: [],
    amisWithoutTarget: [],
  },
  targets: [
    {
      rolloutId: IMAGE,
      wave: "dev",
      waveIndex: 0,
      account: "dev",
      accountId: "111111111111",
      region: "eu-west-1",
      amiId: "ami-0new",
      status: "refreshing",
      unsupportedGroups: [
        { name: "multi", reason: "an override launches ami-0arm (arm64); one image cannot serve" },
      ],
    },
  ],
  groups: groups.map((group) => ({ ...group, rolloutId: IMAGE })),
});

const group = (fields: Partial<GroupRecord>): GroupRecord => ({
  group: "web",
  accountId: "111111111111",
  region: "eu-west-1",
  status: "refresh-started",
  launchTemplateId: "lt-0abc",
  previousVersion: 3,
  newVersion: 4,
  instanceRefreshId: "0123456789abcdef",
  updatedAt: "2026-11-23T02:50:00.000Z",
  ...fields,
});

describe("rollout status", () => {
  it("says when a group was rolled by updating it first (attribute-based), and so rolled back by us", () => {
    const text = renderRollout(
      state([group({ group: "abs", rolledBy: "group-update" }), group({ group: "plain" })]),
      ["dev"],
    );
    const lines = text.split("\n");
    assert.match(
      lines.find((line) => line.includes(" abs ")) ?? "",
      /group updated, then refreshed; our rollback/,
    );
    assert.doesNotMatch(lines.find((line) => line.includes(" plain ")) ?? "", /group updated/);
  });

  it("names the override AMIs a group's rollout replaced, and the groups it could not roll", () => {
    const text = renderRollout(
      state([group({ group: "multiarch", overrideImages: { "ami-0old": "ami-0new" } })]),
      ["dev"],
    );
    assert.match(text, /multiarch .*overrides: ami-0old → new AMI/);
    assert.match(text, /multi .*unsupported: an override launches ami-0arm \(arm64\)/);
  });
  it("shows a count and the first mismatches, and where the whole list is", () => {
    const base = state([]);
    const missing = Array.from({ length: 20 }, (_, index) => ({
      wave: "prod",
      waveIndex: 1,
      account: `team-${index}`,
      accountId: String(100_000_000_000 + index),
      region: "eu-west-1",
    }));
    const text = renderRollout(
      {
        ...base,
        record: {
          ...base.record,
          targetsWithoutAmi: missing,
          targetsWithoutAmiCount: 6000,
          amisWithoutTarget: [{ region: "us-east-1", image: "ami-0x", accountId: "333333333333" }],
          amisWithoutTargetCount: 1,
        },
      },
      ["dev"],
    );
    const line = text.split("\n").find((entry) => entry.includes("no AMI distributed to")) ?? "";
    assert.match(
      line,
      /team-0\/eu-west-1, .*team-19\/eu-west-1 … \(6000 in all; every one: npm run rollout -- status --mismatches\)$/,
    );
    assert.match(text, /AMIs no wave rolls out to: 333333333333\/us-east-1 ami-0x$/m);
  });
});
