import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  StartInstanceRefreshCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateLaunchTemplateVersionCommand,
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EC2ServiceException,
  ModifyLaunchTemplateCommand,
} from "@aws-sdk/client-ec2";
import {
  CreateServiceLinkedRoleCommand,
  GetRoleCommand,
  NoSuchEntityException,
} from "@aws-sdk/client-iam";
import { CreateGrantCommand, DescribeKeyCommand, KMSServiceException } from "@aws-sdk/client-kms";
import type { TargetMessage } from "../../lib/events/rollout-message.ts";
import {
  MAX_REFRESH_WAITS,
  RetryTargetError,
  rollOutTarget,
  TargetFailedError,
} from "../../lib/rollout/roll-out-target.ts";
import {
  createRollout,
  getTarget,
  listGroups,
  resetGroupForRetry,
  updateTarget,
} from "../../lib/rollout/store.ts";
import { LEASE_MS, releaseTargetLease, takeTargetLease } from "../../lib/rollout/target-lease.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import { testConfig } from "../helpers/fixtures.ts";
import {
  autoScalingSlrArn,
  buildKeyArn,
  DEV_ACCOUNT,
  describedGroup,
  mockedTargetAccount,
} from "../helpers/target-account.ts";

const { autoScaling, ec2, kms, iam, clients } = mockedTargetAccount();

const config = testConfig(`  - name: app
    arn: arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/app
    rollout:
      waves: [{ name: dev, accounts: [dev] }]
      autoScalingGroups: { tags: { team: web } }
      grantPropagationSeconds: 300`);

const KEY = buildKeyArn("eu-west-1", "1234abcd-12ab-34cd-56ef-1234567890ab");
const SLR = autoScalingSlrArn(DEV_ACCOUNT);
const AMI = "ami-0new0000000000001";
const START = Date.parse("2026-11-23T03:00:00Z");
/** What the outcome names from our records, for logs and metrics. */
const NAMED = { pipeline: "app", account: "dev", wave: "dev" };

let counter = 0;
const newMessage = (): TargetMessage => {
  counter += 1;
  return {
    rolloutId: `app/1.0.0/${counter}`,
    accountId: "111111111111",
    region: "eu-west-1",
    attempt: 0,
  };
};

const group = (name: string) =>
  describedGroup(name, {
    ServiceLinkedRoleARN: SLR,
    LaunchTemplate: { LaunchTemplateId: `lt-${name}`, Version: "$Default" },
  });

const createVersion = (input: { LaunchTemplateId?: string }) => ({
  LaunchTemplateVersion: { LaunchTemplateId: input.LaunchTemplateId, VersionNumber: 4 },
});

/** A healthy account: two groups, an AMI encrypted with one customer key, everything allowed. */
const healthyAccount = () => {
  autoScaling
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [group("web"), group("api")] });
  autoScaling
    .on(StartInstanceRefreshCommand)
    .callsFake((input) => ({ InstanceRefreshId: `refresh-${input.AutoScalingGroupName}` }));
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: AMI,
        OwnerId: "111111111111",
        BlockDeviceMappings: [{ Ebs: { SnapshotId: "snap-1" } }],
      },
    ],
  });
  ec2
    .on(DescribeSnapshotsCommand)
    .resolves({ Snapshots: [{ SnapshotId: "snap-1", Encrypted: true, KmsKeyId: KEY }] });
  ec2.on(DescribeLaunchTemplateVersionsCommand).callsFake((input) => ({
    LaunchTemplateVersions: [
      {
        LaunchTemplateId: input.LaunchTemplateId,
        VersionNumber: 3,
        LaunchTemplateData: { ImageId: "ami-0old" },
      },
    ],
  }));
  ec2.on(CreateLaunchTemplateVersionCommand).callsFake(createVersion);
  ec2.on(ModifyLaunchTemplateCommand).resolves({});
  kms
    .on(DescribeKeyCommand)
    .resolves({ KeyMetadata: { KeyId: "k", KeyManager: "CUSTOMER", KeyState: "Enabled" } });
  kms.on(CreateGrantCommand).resolves({ GrantId: "grant-1" });
};

describe("roll-out-target against a real local DynamoDB", () => {
  const dynamo = localDynamoSuite();
  let now = START;
  const requeued: Array<{ message: TargetMessage; delaySeconds: number }> = [];
  const deps = () => ({
    config,
    db: dynamo.db,
    table: dynamo.table,
    clients,
    requeue: async (message: TargetMessage, delaySeconds: number) => {
      requeued.push({ message, delaySeconds });
      return delaySeconds;
    },
    clock: { now: () => now },
  });

  /** Records the rollout and its single target as on-image-state would. */
  const planned = async (message: TargetMessage) => {
    await createRollout(
      dynamo.db,
      dynamo.table,
      {
        rolloutId: message.rolloutId,
        pipeline: "app",
        imageArn: `arn:aws:imagebuilder:eu-west-1:999999999999:image/${message.rolloutId}`,
        targets: [
          {
            wave: "dev",
            waveIndex: 0,
            account: "dev",
            accountId: message.accountId,
            region: message.region,
            amiId: AMI,
          },
        ],
        targetsWithoutAmi: [],
        amisWithoutTarget: [],
      },
      new Date(now).toISOString(),
    );
    return message;
  };

  beforeEach(() => {
    requeued.length = 0;
    now = START;
    healthyAccount();
  });

  it("grants first, waits for propagation, then creates versions and refreshes every group", async () => {
    const message = await planned(newMessage());

    const first = await rollOutTarget(message, deps());
    assert.deepEqual(first, {
      status: "requeued",
      reason: "waiting for new KMS grants to propagate",
      delaySeconds: 300,
      ...NAMED,
    });
    assert.equal(
      kms.commandCalls(CreateGrantCommand).length,
      1,
      "one grant per (key, SLR), not per group",
    );
    assert.equal(
      ec2.commandCalls(CreateLaunchTemplateVersionCommand).length,
      0,
      "nothing launches before the grant is usable",
    );

    now += 300_000;
    const second = await rollOutTarget({ ...message, attempt: 1 }, deps());

    assert.equal(second.status, "refreshing");
    assert.equal(
      kms.commandCalls(CreateGrantCommand).length,
      1,
      "the grant is not asked for again",
    );
    assert.equal(ec2.commandCalls(CreateLaunchTemplateVersionCommand).length, 2);
    const groups = await listGroups(dynamo.db, dynamo.table, message.rolloutId, message);
    assert.deepEqual(
      groups.map((g) => [g.group, g.status, g.previousVersion, g.newVersion, g.instanceRefreshId]),
      [
        ["api", "refresh-started", 3, 4, "refresh-api"],
        ["web", "refresh-started", 3, 4, "refresh-web"],
      ],
    );
    const refresh = autoScaling.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input;
    assert.deepEqual(refresh?.DesiredConfiguration, {
      LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "4" },
    });
  });

  it("refreshes without auto-rollback, and says why, a group whose template takes its AMI from SSM", async () => {
    ec2.on(DescribeLaunchTemplateVersionsCommand).callsFake((input) => ({
      LaunchTemplateVersions: [
        {
          LaunchTemplateId: input.LaunchTemplateId,
          VersionNumber: 3,
          LaunchTemplateData: { ImageId: "resolve:ssm:/golden/al2023/latest" },
        },
      ],
    }));
    const message = await planned(newMessage());
    await rollOutTarget(message, deps());
    now += 300_000;

    await rollOutTarget({ ...message, attempt: 1 }, deps());

    const refreshes = autoScaling.commandCalls(StartInstanceRefreshCommand);
    assert.equal(refreshes.length, 2);
    for (const refresh of refreshes)
      assert.equal(refresh.args[0].input.Preferences?.AutoRollback, false);
    const groups = await listGroups(dynamo.db, dynamo.table, message.rolloutId, message);
    assert.match(groups[0]?.reason ?? "", /no auto-rollback: .*SSM parameter/);
  });

  it("does not wait for a grant an earlier rollout already created", async () => {
    const earlier = await planned(newMessage());
    await rollOutTarget(earlier, deps());
    now += 24 * 3600_000;
    kms.resetHistory();

    const outcome = await rollOutTarget(await planned(newMessage()), deps());

    assert.equal(outcome.status, "refreshing");
    assert.equal(
      kms.commandCalls(CreateGrantCommand).length,
      1,
      "CreateGrant by name returns the existing grant",
    );
    assert.equal(requeued.length, 1, "only the first rollout waited");
  });

  it("waits again for a grant that was revoked and created anew (a new GrantId)", async () => {
    const earlier = await planned(newMessage());
    await rollOutTarget(earlier, deps());
    now += 24 * 3600_000;
    // Revoked in the meantime: the same Name then creates a new grant, with a new id (KMS API
    // reference, CreateGrant Name: the original GrantId is returned only "if the grant already
    // exists"), which may not be effective for minutes.
    kms.on(CreateGrantCommand).resolves({ GrantId: "grant-2" });

    const outcome = await rollOutTarget(await planned(newMessage()), deps());

    assert.deepEqual(outcome, {
      status: "requeued",
      reason: "waiting for new KMS grants to propagate",
      delaySeconds: 300,
      ...NAMED,
    });
    assert.equal(ec2.commandCalls(CreateLaunchTemplateVersionCommand).length, 0);
  });

  it("resumes after a transient failure without repeating the steps already recorded", async () => {
    const message = await planned(newMessage());
    await rollOutTarget(message, deps());
    now += 300_000;
    const outage = new EC2ServiceException({
      name: "InternalError",
      $fault: "server",
      $metadata: { httpStatusCode: 500 },
    });
    ec2.on(CreateLaunchTemplateVersionCommand).rejectsOnce(outage).callsFake(createVersion);

    await assert.rejects(rollOutTarget(message, deps()), RetryTargetError);
    const redelivered = await rollOutTarget(message, deps());

    assert.equal(redelivered.status, "refreshing");
    assert.equal(kms.commandCalls(CreateGrantCommand).length, 1);
    assert.equal(autoScaling.commandCalls(StartInstanceRefreshCommand).length, 2);
    // A further duplicate finds the target finished: not a single AWS call.
    autoScaling.resetHistory();
    ec2.resetHistory();
    assert.deepEqual(await rollOutTarget(message, deps()), {
      status: "already-finished",
      targetStatus: "refreshing",
    });
    assert.equal(autoScaling.calls().length + ec2.calls().length, 0);
  });

  it("a group retried for a slow grant names the refresh it must not adopt on every record, `starting` included", async () => {
    const message = await planned(newMessage());
    await rollOutTarget(message, deps());
    now += 300_000;
    await rollOutTarget(message, deps());
    const web = (await listGroups(dynamo.db, dynamo.table, message.rolloutId, message)).find(
      (group) => group.group === "web",
    );
    assert.ok(web?.instanceRefreshId);
    // What watch-rollouts does when the refresh failed on a grant not usable yet.
    const at = new Date(now).toISOString();
    await resetGroupForRetry(
      dynamo.db,
      dynamo.table,
      message.rolloutId,
      { ...web, reason: "Client.InternalError: Client error on launch" },
      at,
    );
    await updateTarget(
      dynamo.db,
      dynamo.table,
      message.rolloutId,
      message,
      { status: "waiting-for-refresh" },
      at,
    );
    // What a redelivery after a crash right before StartInstanceRefresh would find.
    let recorded: string | undefined;
    autoScaling
      .on(StartInstanceRefreshCommand, { AutoScalingGroupName: "web" })
      .callsFake(async () => {
        const groups = await listGroups(dynamo.db, dynamo.table, message.rolloutId, message);
        const starting = groups.find((group) => group.group === "web");
        recorded = `${starting?.status} ${starting?.previousRefreshId}`;
        return { InstanceRefreshId: "r-retry" };
      });
    now += 300_000;

    await rollOutTarget(message, deps());

    assert.equal(recorded, `starting ${web.instanceRefreshId}`);
  });

  it("a refused grant fails the target with the key policy statement to add, and is not retried", async () => {
    const message = await planned(newMessage());
    kms.on(CreateGrantCommand).rejects(
      new KMSServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message: "no resource-based policy allows the kms:CreateGrant action",
      }),
    );

    await assert.rejects(rollOutTarget(message, deps()), (error: unknown) => {
      assert.ok(error instanceof TargetFailedError);
      assert.match(error.message, /kms:CreateGrant on .* refused for account 111111111111/);
      assert.match(error.message, /"Principal":\{"AWS":"arn:aws:iam::111111111111:root"\}/);
      return true;
    });
    const target = await getTarget(dynamo.db, dynamo.table, message.rolloutId, message);
    assert.equal(target?.status, "failed");
    assert.equal(ec2.commandCalls(CreateLaunchTemplateVersionCommand).length, 0);
  });

  it("retries, rather than fails, a grant to a service-linked role created moments ago that KMS does not see yet", async () => {
    const message = await planned(newMessage());
    const { ServiceLinkedRoleARN: _none, ...withoutRole } = group("web");
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [withoutRole] });
    iam
      .on(GetRoleCommand)
      .rejectsOnce(new NoSuchEntityException({ message: "no such role", $metadata: {} }))
      .resolves({});
    iam.on(CreateServiceLinkedRoleCommand).resolves({});
    // IAM is eventually consistent: a new role may not be visible to KMS yet, which answers as it
    // does for any principal it does not know (terraform-provider-aws retries CreateGrant on it).
    kms
      .on(CreateGrantCommand)
      .rejectsOnce(
        new KMSServiceException({
          name: "InvalidArnException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
          message: `ARN does not refer to a valid principal: ${SLR}`,
        }),
      )
      .resolves({ GrantId: "grant-1" });

    await assert.rejects(rollOutTarget(message, deps()), (error: unknown) => {
      assert.ok(error instanceof RetryTargetError, String(error));
      assert.match(error.message, new RegExp(`${SLR}.*not visible to KMS yet`));
      return true;
    });
    assert.equal(iam.commandCalls(CreateServiceLinkedRoleCommand).length, 1);
    const target = await getTarget(dynamo.db, dynamo.table, message.rolloutId, message);
    assert.equal(target?.status, "in-progress");

    const redelivered = await rollOutTarget(message, deps());
    assert.equal(redelivered.status, "requeued", "then waits for the new grant as usual");
    assert.equal(iam.commandCalls(CreateServiceLinkedRoleCommand).length, 1);
    assert.deepEqual(
      kms.commandCalls(CreateGrantCommand).at(-1)?.args[0].input.GranteePrincipal,
      SLR,
    );
  });

  it("one group's failure does not stop the others", async () => {
    const message = await planned(newMessage());
    now += 3600_000;
    kms
      .on(DescribeKeyCommand)
      .resolves({ KeyMetadata: { KeyId: "k", KeyManager: "AWS", KeyState: "Enabled" } });
    autoScaling.on(StartInstanceRefreshCommand, { AutoScalingGroupName: "api" }).rejects(
      new EC2ServiceException({
        name: "ValidationError",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message: "bad preferences",
      }),
    );

    const outcome = await rollOutTarget(message, deps());

    assert.equal(outcome.status, "partially-failed");
    assert.equal(
      kms.commandCalls(CreateGrantCommand).length,
      0,
      "an AWS managed key needs no grant",
    );
    const groups = await listGroups(dynamo.db, dynamo.table, message.rolloutId, message);
    assert.deepEqual(
      groups.map((g) => [g.group, g.status]),
      [
        ["api", "failed"],
        ["web", "refresh-started"],
      ],
    );
    assert.match(groups[0]?.reason ?? "", /ValidationError: bad preferences/);
  });

  it("waits for another team's refresh by re-enqueueing, and gives up after the configured attempts", async () => {
    const message = await planned(newMessage());
    kms
      .on(DescribeKeyCommand)
      .resolves({ KeyMetadata: { KeyId: "k", KeyManager: "AWS", KeyState: "Enabled" } });
    autoScaling
      .on(StartInstanceRefreshCommand, { AutoScalingGroupName: "web" })
      .rejects(new InstanceRefreshInProgressFault({ message: "in progress", $metadata: {} }));
    autoScaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });

    const waiting = await rollOutTarget(message, deps());
    assert.deepEqual(waiting, {
      status: "requeued",
      reason: "waiting for another instance refresh to end",
      delaySeconds: 300,
      ...NAMED,
    });
    assert.equal(
      (await getTarget(dynamo.db, dynamo.table, message.rolloutId, message))?.status,
      "waiting-for-refresh",
    );
    assert.equal(requeued.at(-1)?.message.attempt, 1, "a wait for another refresh is an attempt");

    const last = await rollOutTarget({ ...message, attempt: MAX_REFRESH_WAITS }, deps());
    assert.equal(last.status, "partially-failed");
    assert.equal(
      autoScaling.commandCalls(StartInstanceRefreshCommand, { AutoScalingGroupName: "api" }).length,
      1,
      "api was started once",
    );
  });

  it("reports launch-configuration groups as unsupported and rolls the rest", async () => {
    const message = await planned(newMessage());
    kms
      .on(DescribeKeyCommand)
      .resolves({ KeyMetadata: { KeyId: "k", KeyManager: "AWS", KeyState: "Enabled" } });
    const legacy = {
      ...group("legacy"),
      LaunchTemplate: undefined,
      LaunchConfigurationName: "legacy-lc",
    };
    autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .resolves({ AutoScalingGroups: [group("web"), legacy] });

    const outcome = await rollOutTarget(message, deps());

    assert.equal(outcome.status, "refreshing");
    assert.ok("unsupportedGroups" in outcome);
    assert.match(outcome.unsupportedGroups[0]?.reason ?? "", /launch configuration legacy-lc/);
  });

  it("one invocation at a time in an account and region: a duplicate delivery or another pipeline's target waits its turn", async () => {
    const first = await planned(newMessage());
    const second = await planned(newMessage());
    // An invocation is working in the account and region.
    assert.ok(await takeTargetLease(dynamo.db, dynamo.table, first, "invocation-1", now));

    for (const message of [first, second]) {
      const waiting = await rollOutTarget({ ...message, attempt: 5 }, deps());
      assert.deepEqual(waiting, {
        status: "requeued",
        reason: "another invocation is working in this account and region",
        delaySeconds: 60,
        ...NAMED,
      });
    }
    assert.equal(autoScaling.calls().length, 0, "nothing done in the account meanwhile");
    // Waiting for the lease is no attempt: a busy account never makes a group give up.
    assert.deepEqual(
      requeued.slice(-2).map((entry) => entry.message.attempt),
      [5, 5],
    );
    // Given back, or expired after a crash: the next one goes on.
    await releaseTargetLease(dynamo.db, dynamo.table, first, "invocation-1");
    assert.ok(await takeTargetLease(dynamo.db, dynamo.table, second, "invocation-2", now));
    assert.ok(!(await takeTargetLease(dynamo.db, dynamo.table, second, "invocation-3", now)));
    assert.ok(
      await takeTargetLease(dynamo.db, dynamo.table, second, "invocation-3", now + LEASE_MS + 1),
      "a crashed holder's lease expires",
    );
  });
});
