import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { needsSettling, settleEndedGroups } from "../../../lib/rollout/settle.ts";
import type { GroupRecord } from "../../../lib/rollout/store.ts";
import { testConfig } from "../../helpers/fixtures.ts";

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

describe("settling a group whose refresh failed while AWS may still be rolling it back", () => {
  const autoScaling = mockClient(AutoScalingClient);
  const ec2 = mockClient(EC2Client);
  const dynamo = mockClient(DynamoDBDocumentClient);
  const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/app/1.0.0/1";
  const config = testConfig(`  - name: app
    arn: arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/app
    rollout:
      waves: [{ name: dev, accounts: [dev] }]
      autoScalingGroups: { tags: { team: web } }`);
  const failed = {
    ...group({ group: "web", status: "failed", follows: "$Default" as const }),
    accountId: config.accounts.dev?.id ?? "",
    rolloutId: IMAGE,
  };
  const state = {
    record: {
      rolloutId: IMAGE,
      status: "failed" as const,
      approvals: {},
      pipeline: "app",
      imageArn: IMAGE,
      createdAt: "2026-11-23T03:00:00.000Z",
      dispatchedWave: 0,
      waveCount: 1,
      targetsWithoutAmi: [],
      amisWithoutTarget: [],
    },
    targets: [],
    groups: [failed],
  };
  const deps = () => ({
    config,
    db: DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-1" })),
    table: "state",
    clock: { now: () => Date.parse("2026-11-23T04:00:00Z") },
    autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
    ec2: () => new EC2Client({ region: "eu-west-1" }),
  });
  beforeEach(() => {
    autoScaling.reset();
    ec2.reset();
    dynamo.reset();
  });

  it("touches nothing while the refresh is still active (a 'Failed' event may come before 'Rollback Started')", async () => {
    autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [{ InstanceRefreshId: "r-1", Status: "RollbackInProgress" }],
    });
    const settled = await settleEndedGroups(state, deps());
    assert.match(settled[0] ?? "", /still active/);
    assert.equal(autoScaling.commandCalls(UpdateAutoScalingGroupCommand).length, 0);
    assert.equal(ec2.calls().length, 0);
    assert.equal(dynamo.commandCalls(UpdateCommand).length, 0, "not recorded as settled");
  });

  it("settles once AWS is done with it", async () => {
    autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [{ InstanceRefreshId: "r-1", Status: "RollbackSuccessful" }],
    });
    ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [{ LaunchTemplateId: "lt-0abc", VersionNumber: 3 }],
    });
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    dynamo.on(UpdateCommand).resolves({});
    await settleEndedGroups(state, deps());
    assert.equal(dynamo.commandCalls(UpdateCommand).length, 1, "recorded as settled");
  });
});
