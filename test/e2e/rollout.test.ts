import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TargetRecord } from "../../lib/rollout/store.ts";
import { getRollout, getTarget, listGroups } from "../../lib/rollout/store.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import { deployTargetRole } from "../../sandbox/world-from-config.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const DEV = "111111111111";
const PROD = "222222222222";
const STAGING = "333333333333";
const BUILD = "999999999999";

/**
 * One wave over three accounts × two regions, so a single rollout exercises every target shape:
 * dev (default SLR, a leftover launch-configuration group), prod (custom-suffix SLR), staging
 * (whose role trusts nobody: AccessDenied while the others complete).
 */
const CONFIG = `
accounts:
  dev: { id: "${DEV}", externalId: ext-dev-01, regions: [eu-west-1, eu-west-3] }
  prod: { id: "${PROD}", externalId: ext-prod-01, regions: [eu-west-1, eu-west-3] }
  staging: { id: "${STAGING}", externalId: ext-staging-01, regions: [eu-west-1] }
pipelines:
  - name: base-al2023
    arn: arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/base-al2023
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications
    rollout:
      waves:
        - { name: everywhere, accounts: [dev, prod, staging] }
      autoScalingGroups: { tags: { "ami-orchestrator:pipeline": base-al2023 } }
      launchTemplate: { setDefaultVersion: true }
      instanceRefresh: { minHealthyPercentage: 90, instanceWarmup: 60, checkpointPercentages: [50, 100] }
      grantPropagationSeconds: 120
`;

describe("automatic rollout of an AVAILABLE image, in the sandbox", () => {
  let imageArn: string;
  let snsEvent: unknown;
  const rolloutId = () => imageArn;
  const sandbox = sandboxSuite(
    CONFIG,
    {
      start: "2026-11-23T01:59:00Z",
      customSlrAccounts: ["prod"],
      legacyLaunchConfigurationGroup: true,
    },
    ({ world }) => {
      // staging's role exists but was deployed with another ExternalId.
      const staging = { id: STAGING, roleName: "ami-orchestrator-target", regions: ["eu-west-1"] };
      world.sts.addRole({ accountId: STAGING, roleName: staging.roleName });
      const role = deployTargetRole(world, {
        ...staging,
        externalId: "someone-elses-id",
        buildAccounts: [BUILD],
      });
      if (role) world.authorizer.setRole(role);
    },
  );

  it("a scheduled build completes and on-image-state starts the rollout once", async () => {
    const { world, lambda, handlers } = sandbox.session;
    await handlers.startPipelines(
      { pipeline: "base-al2023", scheduledTime: "2026-11-23T02:00:00Z" },
      (await import("../../sandbox/lambda.ts")).fakeContext("start-pipelines"),
    );
    world.clock.advance(45 * 60_000);
    const [image] = world.imageBuilder.imagesOf(
      `arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/base-al2023`,
    );
    assert.equal(image?.status, "AVAILABLE");
    imageArn = image.arn;
    snsEvent = lambda.snsEvent(image);

    const [delivery] = await lambda.deliverNotifications();
    assert.equal(delivery?.error, undefined);
    const outcome = (delivery?.result as { outcomes: Array<Record<string, unknown>> } | undefined)
      ?.outcomes[0];
    assert.equal(outcome?.outcome, "rollout-started");
    assert.equal(outcome?.targets, 5);
    assert.equal(world.queues.rollout.messages.length, 5);
    const record = await getRollout(
      sandbox.session.dynamo.db,
      sandbox.session.dynamo.table,
      rolloutId(),
    );
    assert.equal(record?.dispatchedWave, 0);
  });

  it("a duplicate SNS delivery makes no mutating call", async () => {
    const before = sandbox.session.world.mutatingCalls().length;
    const duplicate = await sandbox.session.lambda.invokeAsync(
      "on-image-state",
      sandbox.session.handlers.onImageState,
      snsEvent,
    );
    const outcome = (duplicate.result as { outcomes: Array<Record<string, unknown>> }).outcomes[0];
    assert.equal(outcome?.outcome, "duplicate");
    assert.equal(sandbox.session.world.mutatingCalls().length, before);
    assert.equal(sandbox.session.world.queues.rollout.messages.length, 5);
  });

  it("creates a grant per key and service-linked role, waits for it, then refreshes every group", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    // A throttled first CreateGrant is retried by the SDK, invisibly to the handler.
    world.faults.add({
      service: "kms",
      operation: "CreateGrant",
      error: { name: "ThrottlingException", httpStatusCode: 400, throttling: true },
      times: 1,
    });
    await lambda.drainRolloutQueue({ until: world.clock.now() + 30 * 60_000 });

    // Grants: one per (target account's SLR, regional key), created from the target account.
    const grants = [...world.kms.keys.keys()].flatMap((key) => world.kms.grantsOn(key));
    const grantees = grants.map((grant) => `${grant.createdBy} ${grant.granteePrincipal}`).sort();
    assert.deepEqual(grantees, [
      `${DEV} ${slrArn(DEV)}`,
      `${DEV} ${slrArn(DEV)}`,
      `${PROD} ${slrArn(PROD, "prod")}`,
      `${PROD} ${slrArn(PROD, "prod")}`,
    ]);
    assert.ok(grants.every((grant) => grant.operations.length === 8));

    // Every target in dev and prod is refreshing both groups, pinned to an explicit version.
    for (const [accountId, region] of [
      [DEV, "eu-west-1"],
      [DEV, "eu-west-3"],
      [PROD, "eu-west-1"],
      [PROD, "eu-west-3"],
    ] as const) {
      const target = (await getTarget(dynamo.db, dynamo.table, rolloutId(), {
        accountId,
        region,
      })) as TargetRecord;
      assert.equal(target.status, "refreshing", `${accountId}/${region}: ${target.reason}`);
      const groups = await listGroups(dynamo.db, dynamo.table, rolloutId(), { accountId, region });
      assert.deepEqual(
        groups.map((group) => [group.group, group.status, group.previousVersion, group.newVersion]),
        [
          ["base-al2023-app", "refresh-started", 1, 2],
          ["base-al2023-workers", "refresh-started", 1, 2],
        ],
      );
      if (accountId === DEV) {
        assert.match(target.unsupportedGroups?.[0]?.reason ?? "", /launch configuration/);
      }
      // The refresh waited for the grant to propagate.
      const refreshes = world.autoScaling.refreshes.filter(
        (refresh) => refresh.group.accountId === accountId && refresh.group.region === region,
      );
      assert.equal(refreshes.length, 2);
      // The groups followed $Default: each was pinned to the version it runs (1) before its
      // refresh, since AWS refuses auto-rollback for a group on $Latest/$Default...
      for (const refresh of refreshes) {
        assert.equal(refresh.preferences.AutoRollback, true);
        const pin = world.autoScaling.updates.find(
          (update) =>
            update.accountId === accountId &&
            update.region === region &&
            update.group === refresh.group.name,
        );
        const input = pin?.input as {
          LaunchTemplate?: { Version?: string };
          MixedInstancesPolicy?: {
            LaunchTemplate: { LaunchTemplateSpecification: { Version: string } };
          };
        };
        assert.equal(
          input?.LaunchTemplate?.Version ??
            input?.MixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification.Version,
          "1",
          `${refresh.group.name} pinned to version 1`,
        );
      }
      // A group that follows $Latest is pinned before our version exists: it would launch it.
      const workersPin = world.calls.findIndex(
        (call) =>
          call.operation === "UpdateAutoScalingGroup" &&
          call.accountId === accountId &&
          call.region === region &&
          (call.input as { AutoScalingGroupName?: string }).AutoScalingGroupName ===
            "base-al2023-workers",
      );
      const workersTemplate = world.autoScaling.refreshes.find(
        (refresh) =>
          refresh.group.accountId === accountId &&
          refresh.group.region === region &&
          refresh.group.name === "base-al2023-workers",
      )?.desiredConfiguration.MixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification
        .LaunchTemplateId;
      const created = world.calls.findIndex(
        (call) =>
          call.operation === "CreateLaunchTemplateVersion" &&
          !call.error &&
          (call.input as { LaunchTemplateId?: string }).LaunchTemplateId === workersTemplate,
      );
      assert.ok(workersPin >= 0 && created > workersPin, "pinned before the version was created");
      // ...and the template's default has not moved: a rollback must relaunch version 1.
      for (const template of world.ec2.templates.values()) {
        if (template.accountId === accountId && template.region === region)
          assert.equal(template.defaultVersion, 1);
      }
      const grantedAt = Math.max(
        ...grants.filter((grant) => grant.createdBy === accountId).map((grant) => grant.createdAt),
      );
      for (const refresh of refreshes) {
        assert.ok(
          refresh.startTime - grantedAt >= 120_000,
          "refresh waited grantPropagationSeconds",
        );
      }
    }

    // staging: AccessDenied on AssumeRole is recorded, not retried forever.
    const staging = await getTarget(dynamo.db, dynamo.table, rolloutId(), {
      accountId: STAGING,
      region: "eu-west-1",
    });
    assert.equal(staging?.status, "failed");
    assert.match(staging?.reason ?? "", /AccessDenied.*ExternalId|externalId/s);
    assert.deepEqual(
      world.queues.rollout.messages.map((m) => [
        m.body,
        m.receiveCount,
        new Date(m.visibleAt).toISOString(),
      ]),
      [],
    );
    assert.equal(world.queues.deadLetter.messages.length, 0);
  });

  it("the refreshes complete: the mixed-instances group keeps its policy, with the new version", () => {
    const { world } = sandbox.session;
    world.clock.advance(15 * 60_000);
    const refreshes = world.autoScaling.refreshes;
    assert.equal(refreshes.length, 8);
    assert.deepEqual(new Set(refreshes.map((refresh) => refresh.status)), new Set(["Successful"]));
    const workers = [...world.autoScaling.groups.values()].find(
      (group) => group.accountId === PROD && group.name === "base-al2023-workers",
    );
    assert.equal(workers?.launchTemplate, undefined);
    assert.equal(
      workers?.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification.Version,
      "2",
    );
    assert.equal(workers?.mixedInstancesPolicy?.LaunchTemplate.Overrides?.length, 2);
    assert.equal(workers?.mixedInstancesPolicy?.InstancesDistribution?.OnDemandBaseCapacity, 1);
    const amis = new Set(
      [...world.autoScaling.groups.values()]
        .filter((group) => group.accountId !== STAGING && !group.launchConfigurationName)
        .map((group) => group.runningImageId),
    );
    assert.equal(amis.size, 4, "each target runs its own regional copy of the new AMI");
  });

  it("once a refresh succeeded: the default version moves, and pinned groups follow $Default/$Latest again", async () => {
    const { world, lambda, dynamo } = sandbox.session;
    await lambda.run(world.clock.now() + 10 * 60_000);

    for (const template of world.ec2.templates.values()) {
      if (template.accountId === STAGING || template.versions.length < 2) continue;
      assert.equal(template.defaultVersion, 2, `${template.name} default moved after success`);
    }
    const rolled = [...world.autoScaling.groups.values()].filter(
      (group) => group.accountId !== STAGING && !group.launchConfigurationName,
    );
    for (const group of rolled) {
      const spec =
        group.launchTemplate ??
        group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;
      const follows = group.mixedInstancesPolicy ? "$Latest" : "$Default";
      assert.equal(spec?.Version, follows, `${group.name} follows ${follows} again`);
    }
    const groups = await listGroups(dynamo.db, dynamo.table, rolloutId(), {
      accountId: DEV,
      region: "eu-west-1",
    });
    assert.deepEqual(
      groups.map((group) => [group.follows, group.settled]),
      [
        ["$Default", "default version 2; follows $Default again"],
        ["$Latest", "default version 2; follows $Latest again"],
      ],
    );
  });

  it("the sandbox enforces the rule the grants exist for: no grant, no launch", () => {
    const { world } = sandbox.session;
    const group = [...world.autoScaling.groups.values()].find((g) => g.accountId === DEV);
    assert.ok(group);
    const newAmi = group.runningImageId as string;
    assert.equal(world.autoScaling.launchFailure(group, newAmi), undefined);
    const withoutGrant = { ...group, serviceLinkedRoleArn: slrArn(DEV, "other") };
    assert.match(
      world.autoScaling.launchFailure(withoutGrant, newAmi) ?? "",
      /Client\.InternalError/,
    );
  });

  it("a redelivered message for a finished target makes no AWS call at all", async () => {
    const { world, lambda } = sandbox.session;
    const calls = world.calls.length;
    const message = {
      rolloutId: rolloutId(),
      pipeline: "base-al2023",
      imageArn,
      wave: "everywhere",
      waveIndex: 0,
      account: "dev",
      accountId: DEV,
      region: "eu-west-1",
      amiId: "ami-0123456789abcdef0",
      attempt: 0,
    };
    world.sqs.operations.SendMessage({
      service: "sqs",
      operation: "SendMessage",
      accountId: BUILD,
      region: "eu-west-1",
      input: { QueueUrl: world.queues.rollout.url, MessageBody: JSON.stringify(message) },
    });
    const [invocation] = await lambda.drainRolloutQueue();
    assert.deepEqual(invocation?.result, { batchItemFailures: [] });
    assert.equal(world.calls.length, calls);
  });

  it("a malformed rollout message fails alone, is retried, then lands in the DLQ", async () => {
    const { world, lambda } = sandbox.session;
    const send = (body: string) =>
      world.sqs.operations.SendMessage({
        service: "sqs",
        operation: "SendMessage",
        accountId: BUILD,
        region: "eu-west-1",
        input: { QueueUrl: world.queues.rollout.url, MessageBody: body },
      });
    send(JSON.stringify({ rolloutId: rolloutId(), pipeline: "base-al2023" }));

    const invocations = await lambda.drainRolloutQueue({ until: world.clock.now() + 2 * 3600_000 });

    assert.equal(invocations.length, 5, "maxReceiveCount deliveries");
    for (const invocation of invocations) {
      assert.equal(
        (invocation.result as { batchItemFailures: unknown[] }).batchItemFailures.length,
        1,
      );
    }
    assert.equal(world.queues.rollout.messages.length, 0);
    assert.equal(world.queues.deadLetter.messages.length, 1);
  });
});
