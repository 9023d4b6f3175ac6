import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { beforeEach, describe, it } from "node:test";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  DescribeScalingActivitiesCommand,
} from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { CreateGrantCommand, KMSClient, ListGrantsCommand } from "@aws-sdk/client-kms";
import type { Alert } from "../../lib/alerts/types.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { parseLaunchUnsuccessfulEvent } from "../../lib/events/launch-unsuccessful.ts";
import { AUTO_SCALING_GRANT_OPERATIONS, grantName } from "../../lib/kms/grants.ts";
import { explainLaunchFailure } from "../../lib/launch-failures/explain.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import { repoPath } from "../helpers/fixtures.ts";
import {
  answerLaunchChain,
  autoScalingSlrArn,
  buildKeyArn,
  describedGroup,
  mockedTargetAccount,
  PROD_ACCOUNT,
} from "../helpers/target-account.ts";

const target = mockedTargetAccount();
const { autoScaling, kms } = target;

const config = loadConfig(repoPath("config/orchestrator.yml"));
const PROD = PROD_ACCOUNT;
const KEY = buildKeyArn("eu-west-3");
const SLR = autoScalingSlrArn(PROD);

const failureOf = (group: string, second: number) => {
  const raw = JSON.parse(readFileSync(repoPath("events/asg-launch-unsuccessful.json"), "utf8"));
  raw.detail.AutoScalingGroupName = group;
  raw.detail.ActivityId = `activity-${group}-${second}`;
  raw.time = new Date(Date.UTC(2026, 11, 21, 9, 0, second)).toISOString();
  return parseLaunchUnsuccessfulEvent(raw);
};

/** A group whose SLR lost its grant on the AMI's key; grants appear once created. */
const world = () => {
  const grants: string[] = [];
  autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake((input) => ({
    AutoScalingGroups: [
      describedGroup(input.AutoScalingGroupNames[0], {
        LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "3" },
        AvailabilityZones: ["eu-west-3b"],
      }),
    ],
  }));
  autoScaling.on(DescribeScalingActivitiesCommand).resolves({ Activities: [] });
  autoScaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
  answerLaunchChain(target, { version: 3, imageId: "ami-1", ownerId: PROD, keyArn: KEY });
  // Grants are eventually consistent: a new one is not listed yet (the worst case for dedup).
  kms.on(ListGrantsCommand).resolves({ Grants: [] });
  kms.on(CreateGrantCommand).callsFake((input) => {
    if (!grants.includes(input.Name)) grants.push(input.Name);
    return { GrantId: `g-${grants.indexOf(input.Name)}` };
  });
  return grants;
};

describe("explaining failed launches: heal, dedup, alert (dynalite)", () => {
  const dynamo = localDynamoSuite();
  const alerts: Alert[] = [];
  beforeEach(() => {
    alerts.length = 0;
  });
  const deps = (second: number) => ({
    config,
    db: dynamo.db,
    table: dynamo.table,
    now: () => new Date(Date.UTC(2026, 11, 21, 9, 0, second)),
    publishAlert: async (alert: Alert) => {
      alerts.push(alert);
    },
    clients: () => ({
      autoScaling: new AutoScalingClient({}),
      ec2: new EC2Client({}),
      kms: new KMSClient({}),
      owner: () => undefined,
    }),
  });

  it("a configured group: 40 failures heal the grant once (one named grant) and raise one alert saying so", async () => {
    const grants = world();
    const outcomes = [];
    for (let second = 0; second < 40; second += 1)
      outcomes.push(await explainLaunchFailure(failureOf("web-api", second), deps(second)));

    assert.deepEqual(grants, [grantName(KEY, SLR)]);
    const created = kms.commandCalls(CreateGrantCommand)[0]?.args[0].input;
    assert.deepEqual(created?.Operations, [...AUTO_SCALING_GRANT_OPERATIONS]);
    assert.equal(created?.GranteePrincipal, SLR);
    assert.equal(alerts.length, 1);
    const alert = alerts[0];
    assert.equal(alert?.kind, "launch-failed");
    if (alert?.kind !== "launch-failed") return;
    assert.equal(alert.group, "web-api");
    assert.equal(alert.accountId, PROD);
    assert.equal(alert.activityId, "activity-web-api-0");
    assert.equal(alert.cause, "missing-grant");
    assert.equal(alert.pipeline, "web-ubuntu2404");
    assert.match(alert.action, /^created grant ami-orchestrator-AWSServiceRoleForAutoScaling-/);
    assert.equal(outcomes.at(-1)?.outcome, "duplicate");
  });

  it("a group outside the config is diagnosed and alerted, never healed", async () => {
    world();
    await explainLaunchFailure(failureOf("team-b-app", 0), deps(0));
    assert.equal(kms.commandCalls(CreateGrantCommand).length, 0);
    assert.equal(alerts.length, 1);
    const alert = alerts[0];
    if (alert?.kind !== "launch-failed") return assert.fail("no launch-failed alert");
    assert.equal(alert.cause, "missing-grant");
    assert.match(alert.action, /^not healed: the group is not selected/);
  });

  it("a failure after a successful launch is a new episode: a new alert", async () => {
    world();
    await explainLaunchFailure(failureOf("web-frontend", 0), deps(0));
    autoScaling.on(DescribeScalingActivitiesCommand).resolves({
      Activities: [
        {
          ActivityId: "ok",
          AutoScalingGroupName: "web-frontend",
          Description: "Launching a new EC2 instance: i-0123",
          Cause: "capacity",
          StartTime: new Date(Date.UTC(2026, 11, 21, 9, 0, 5)),
          StatusCode: "Successful",
          Progress: 100,
        },
      ],
    });
    await explainLaunchFailure(failureOf("web-frontend", 10), deps(10));
    assert.equal(alerts.length, 2);
  });
});
