import assert from "node:assert/strict";
import { startOtherTeamsRefresh } from "../../sandbox/group-shapes.ts";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import { accessDenied, THROTTLING } from "../../sandbox/model/faults.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import type { SandboxSession } from "../../sandbox/session.ts";
import { MANAGED_TAG } from "../../sandbox/world-from-config.ts";
import {
  defineFaultSuite,
  FROZEN_PIPELINE,
  type Row,
  type SnsEventShape,
  UNAVAILABLE,
} from "../helpers/fault-suite.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

/** Rewrites the Image Builder message of an SNS event, as whoever can publish to the topic could. */
const forgeMessage = (
  event: SnsEventShape,
  change: (message: Record<string, unknown>) => void,
): void => {
  for (const record of event.Records) {
    const message = JSON.parse(record.Sns.Message);
    change(message);
    record.Sns.Message = JSON.stringify(message);
  }
};
/** One attacker AMI per AMI the genuine message lists, same accounts and regions. */
const attackerAmis = (message: Record<string, unknown>) =>
  ((message.outputResources as { amis: Array<Record<string, unknown>> }).amis ?? []).map(
    (ami, index) => ({ ...ami, image: `ami-0badbad${String(index).padStart(10, "0")}` }),
  );

/** The target the group-shape rows add their groups to. */
const REGION = "eu-west-1";
/** Another team's arm64 image (its own pipeline), and an earlier arm64 image of ours. */
const OTHER_TEAMS_ARM_AMI = "ami-0a4a4a4a4a4a4a4a4";
const OUR_OLD_ARM_AMI = "ami-0b5b5b5b5b5b5b5b5";
/** An AMI a forged queue message names (never built by the pipeline). */
const ATTACKER_AMI = "ami-0e0e0e0e0e0e0e0e0";

/**
 * A group of the pipeline (its tag) in the first account's first region, as real fleets shape
 * them (AWS-FACTS section 11): a mixed instances policy with these overrides, on its own
 * template, which launches the AMI the target's app group runs now.
 */
const addGroup = (
  { world }: SandboxSession,
  accountId: string,
  name: string,
  overrides: Array<Record<string, unknown>>,
  version = "$Default",
): SandboxGroup => {
  const current = world.autoScaling.groups.get(`${accountId}|${REGION}|golden-app`)?.runningImageId;
  assert.ok(current, "the target's app group runs an AMI of the pipeline");
  const template = world.ec2.addLaunchTemplate({
    accountId,
    region: REGION,
    name: `${name}-lt`,
    imageId: current,
    tags: { ...MANAGED_TAG },
  });
  return world.autoScaling.addGroup({
    name,
    accountId,
    region: REGION,
    tags: { "ami-orchestrator:pipeline": "golden", ...MANAGED_TAG },
    serviceLinkedRoleArn: slrArn(accountId),
    desiredCapacity: 3,
    runningImageId: current,
    mixedInstancesPolicy: {
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: template.id, Version: version },
        Overrides: overrides,
      },
    },
  });
};

/** What each launch path of a group launches: "new" for the rollout's AMI in its target. */
const launchPaths = (
  { world }: SandboxSession,
  group: SandboxGroup,
  state: { targets: ReadonlyArray<{ accountId: string; region: string; amiId: string }> },
) => {
  const newAmi = state.targets.find(
    (target) => target.accountId === group.accountId && target.region === group.region,
  )?.amiId;
  return world.autoScaling
    .launchPathImages(group)
    .map((path) => `${path.path}: ${path.imageId === newAmi ? "new" : path.imageId}`);
};

defineFaultSuite(
  "fault injection: every fault has an outcome, nothing is lost or done twice",
  3,
  (ACCOUNTS): Row[] => [
    {
      fault: "no fault (baseline)",
      inject: () => undefined,
      expect: "succeeded",
      check: (state) => assert.equal(state.groups.length, 12),
    },
    {
      // Our clock says the cached sessions have most of their hour left; AWS's says they ended.
      fault: "assumed credentials expire mid-rollout",
      inject: ({ world }) => {
        world.clock.after(3 * 60_000, () => world.sts.expireSessions());
        return undefined;
      },
      expect: "succeeded",
      check: (_, { world }) =>
        assert.ok(
          world.calls.some((call) => /^(ExpiredToken|RequestExpired)/.test(call.error ?? "")),
          "expired credentials were refused, then replaced",
        ),
    },
    {
      fault: "throttling on every service",
      inject: ({ world }) =>
        ["sts", "autoscaling", "ec2", "kms", "sqs"].map((service) =>
          world.faults.add({ service, error: THROTTLING, times: 2 }),
        ),
      expect: "succeeded",
      check: (_, { world }) =>
        assert.ok(world.faults.injected.some((call) => call.error === "ThrottlingException")),
    },
    {
      fault: "AccessDenied on AssumeRole in one account",
      inject: ({ world }) => [
        world.faults.add({
          service: "sts",
          operation: "AssumeRole",
          when: (call) => String(call.input.RoleArn).includes(ACCOUNTS[1]?.id ?? ""),
          error: accessDenied("sts:AssumeRole"),
        }),
      ],
      expect: "failed",
      check: (state, { slack }) => {
        const done = state.targets.filter((target) => target.status === "refreshing");
        assert.equal(done.length, 4, "the other accounts completed");
        const alert = JSON.stringify(slack.messages.at(-1));
        assert.match(alert, new RegExp(`${ACCOUNTS[1]?.id}.*cannot assume`));
      },
    },
    {
      fault: "an outage between two steps (invocation fails, message redelivered)",
      inject: ({ world }) => [
        world.faults.add({
          service: "ec2",
          operation: "CreateLaunchTemplateVersion",
          error: UNAVAILABLE,
          times: 5,
        }),
      ],
      expect: "succeeded",
      check: (state) =>
        assert.ok(state.targets.every((target) => (target.grants?.length ?? 0) === 1)),
    },
    {
      fault: "InstanceRefreshInProgress (another team's refresh)",
      inject: ({ world }) => [
        world.faults.add({
          service: "autoscaling",
          operation: "StartInstanceRefresh",
          error: { name: "InstanceRefreshInProgressFault", message: "in progress" },
          times: 2,
        }),
        world.faults.add({
          service: "autoscaling",
          operation: "DescribeInstanceRefreshes",
          when: () => false,
          error: UNAVAILABLE,
        }),
      ],
      expect: "succeeded",
    },
    {
      fault: "KMS grant slower to propagate than configured (first launch fails, retry succeeds)",
      inject: ({ world }) => {
        world.kms.propagationMs = 4 * 60_000;
        world.kms.grants.length = 0;
        return [];
      },
      expect: "succeeded",
      check: (state, { world }) => {
        world.kms.propagationMs = 60_000;
        const retried = state.groups.filter((group) => group.grantRetried);
        assert.ok(retried.length > 0, "some groups needed their one retry");
        assert.ok(
          world.autoScaling.refreshes.some((refresh) => refresh.status === "RollbackSuccessful"),
        );
      },
    },
    {
      fault: "duplicate SNS deliveries (3×)",
      inject: () => undefined,
      deliveries: 3,
      expect: "succeeded",
    },
    {
      fault: "concurrent duplicate notifications (DynamoDB conditional-write race)",
      inject: () => undefined,
      concurrentDeliveries: 3,
      expect: "succeeded",
    },
    {
      fault: "every SQS message delivered twice (at-least-once)",
      inject: ({ world }) => {
        const send = world.sqs.operations.SendMessageBatch;
        world.register("sqs", {
          SendMessageBatch: (call) => {
            send(call);
            return send(call);
          },
        });
        return [];
      },
      restore: ({ world }) =>
        world.register("sqs", { SendMessageBatch: world.sqs.operations.SendMessageBatch }),
      expect: "succeeded",
    },
    {
      fault: "duplicated and lost refresh events",
      inject: ({ lambda }) => {
        let count = 0;
        lambda.refreshEventFate = () => (count++ % 2 === 0 ? "duplicated" : "lost");
        return [];
      },
      expect: "succeeded",
      check: (_, { lambda }) => {
        lambda.refreshEventFate = () => "delivered";
      },
    },
    {
      fault: "poison messages (not JSON, bad account id) beside the rollout's own",
      inject: () => undefined,
      poison: [
        "roll it out",
        JSON.stringify({
          rolloutId: "forged",
          pipeline: "golden",
          imageArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/9.9.9/1",
          wave: "all",
          waveIndex: 0,
          account: "team00",
          accountId: "not-an-account",
          region: "eu-west-1",
          amiId: "ami-0123456789abcdef0",
        }),
      ],
      expect: "succeeded",
    },
    {
      fault: "forged notification (attacker's AMI list, another account's image, an unknown topic)",
      inject: () => undefined,
      forged: [
        // The new image's own ARN with the attacker's AMIs: GetImage's outputs are used instead.
        (event) =>
          forgeMessage(event, (message) => {
            message.outputResources = { amis: attackerAmis(message) };
          }),
        // An image in another account, claiming the configured pipeline: rejected unread.
        (event) =>
          forgeMessage(event, (message) => {
            message.arn = String(message.arn).replace(":999999999999:", ":666666666666:");
            message.outputResources = { amis: attackerAmis(message) };
          }),
        // A topic no pipeline configures: rejected unread.
        (event) => {
          for (const record of event.Records)
            record.Sns.TopicArn = "arn:aws:sns:eu-west-1:666666666666:imagebuilder-notifications";
        },
      ],
      expect: "succeeded",
      check: (state, { lambda }) => {
        const rejected = lambda.failedEvents.filter(
          (failed) =>
            failed.functionName === "on-image-state" &&
            /image notification rejected \((image-outside-pipeline-scope|unconfigured-topic)\)/.test(
              failed.error.message,
            ),
        );
        assert.equal(
          rejected.length,
          2,
          "two forgeries rejected into the failed-events destination",
        );
        assert.ok(state.targets.every((target) => !target.amiId.startsWith("ami-0badbad")));
        lambda.failedEvents.length = 0;
      },
    },
    {
      fault: "Slack rate-limited, then down",
      inject: ({ slack, world }) => {
        slack.script(
          { status: 429, headers: { "retry-after": "1" } },
          { status: 500 },
          { status: 500 },
          { status: 500 },
          { status: 500 },
        );
        return [
          world.faults.add({
            service: "sts",
            operation: "AssumeRole",
            when: (call) => String(call.input.RoleArn).includes(ACCOUNTS[2]?.id ?? ""),
            error: accessDenied("sts:AssumeRole"),
            times: 3,
          }),
        ];
      },
      expect: "failed",
      check: (state, { world }) => {
        const emails = world.sns.published.filter((email) =>
          email.message.includes(state.record.rolloutId),
        );
        assert.equal(emails.length, 1, "the email went out once despite Slack");
      },
    },
    // Group shapes real fleets have (issue 19). Each group stays for the rows after it, as in a
    // fleet that grows.
    (() => {
      let group: SandboxGroup | undefined;
      return {
        fault: "attribute-based group (instance requirements): rolled",
        inject: (session) => {
          group = addGroup(session, ACCOUNTS[0]?.id ?? "", "golden-abs", [
            { InstanceRequirements: { VCpuCount: { Min: 2, Max: 8 }, MemoryMiB: { Min: 4096 } } },
          ]);
          return undefined;
        },
        expect: "succeeded",
        check: (state, session) => {
          assert.ok(group);
          // Pointed at the new version, then refreshed without a desired configuration or skip
          // matching: AWS refuses both for such a group.
          const refreshes = session.world.autoScaling.refreshes.filter(
            (refresh) => refresh.group === group,
          );
          assert.equal(refreshes.length, 1);
          assert.deepEqual(refreshes[0]?.desiredConfiguration, {});
          // Not even `false`: the guide says to start it "without these parameters".
          assert.ok(!("SkipMatching" in (refreshes[0]?.preferences ?? {})));
          const record = state.groups.find((candidate) => candidate.group === "golden-abs");
          assert.equal(record?.status, "succeeded", record?.reason);
          assert.equal(record?.rolledBy, "group-update");
          assert.deepEqual(launchPaths(session, group, state), [
            "launch template: new",
            "override 1 (instance requirements): new",
          ]);
        },
      } satisfies Row;
    })(),
    (() => {
      const groups: Record<string, SandboxGroup> = {};
      return {
        fault:
          "overrides with their own ImageId: ours rolled, another team's left, our other-architecture one reported unsupported",
        inject: (session) => {
          const accountId = ACCOUNTS[0]?.id ?? "";
          for (const [imageId, pipeline] of [
            [OTHER_TEAMS_ARM_AMI, "other"],
            [OUR_OLD_ARM_AMI, "golden"],
          ] as const) {
            session.world.ec2.registerImage({
              imageId,
              ownerId: accountId,
              region: REGION,
              name: `${pipeline} arm64`,
              kmsKeyIds: [undefined],
              architecture: "arm64",
              tags: {
                Ec2ImageBuilderArn: `arn:aws:imagebuilder:${REGION}:999999999999:image/${pipeline}/0.9.0/1`,
              },
            });
          }
          const current = session.world.autoScaling.groups.get(
            `${accountId}|${REGION}|golden-app`,
          )?.runningImageId;
          groups.multiarch = addGroup(session, accountId, "golden-multiarch", [
            { InstanceType: "m7i.large", ImageId: current },
            { InstanceType: "m7g.large", ImageId: OTHER_TEAMS_ARM_AMI },
          ]);
          groups.blocked = addGroup(session, accountId, "golden-blocked", [
            { InstanceType: "m7i.large" },
            { InstanceType: "m7g.large", ImageId: OUR_OLD_ARM_AMI },
          ]);
          return undefined;
        },
        expect: "succeeded",
        check: (state, session) => {
          const { multiarch, blocked } = groups;
          assert.ok(multiarch && blocked);
          assert.equal(
            state.groups.find((group) => group.group === "golden-multiarch")?.status,
            "succeeded",
          );
          assert.deepEqual(launchPaths(session, multiarch, state), [
            "launch template: new",
            "override 1 (m7i.large): new",
            `override 2 (m7g.large): ${OTHER_TEAMS_ARM_AMI}`,
          ]);
          // One image cannot serve both architectures: reported, not half-updated.
          const target = state.targets.find(
            (candidate) =>
              candidate.accountId === blocked.accountId && candidate.region === blocked.region,
          );
          assert.match(
            target?.unsupportedGroups?.find((group) => group.name === "golden-blocked")?.reason ??
              "",
            new RegExp(`${OUR_OLD_ARM_AMI} \\(arm64\\).*is x86_64`),
          );
          assert.equal(
            session.world.autoScaling.refreshes.filter((refresh) => refresh.group === blocked)
              .length,
            0,
          );
          assert.ok(launchPaths(session, blocked, state).every((path) => !path.endsWith("new")));
        },
      } satisfies Row;
    })(),
    (() => {
      let group: SandboxGroup | undefined;
      return {
        fault:
          "another team's refresh blocks pinning a $Latest group (whenInProgress: wait): waited for, then rolled",
        inject: (session) => {
          group = addGroup(
            session,
            ACCOUNTS[0]?.id ?? "",
            "golden-busy",
            [{ InstanceType: "m7i.large" }],
            "$Latest",
          );
          // Their refresh, with a desired configuration: UpdateAutoScalingGroup is refused while
          // it runs (user guide, instance-refresh-overview, "Limitations").
          startOtherTeamsRefresh(session.world, group);
          return undefined;
        },
        expect: "succeeded",
        check: (state, session) => {
          assert.ok(group);
          const about = (operation: string) =>
            session.world.calls.filter(
              (call) =>
                call.operation === operation &&
                call.accountId === group?.accountId &&
                (call.input as { AutoScalingGroupName?: string }).AutoScalingGroupName ===
                  "golden-busy",
            );
          assert.ok(
            about("UpdateAutoScalingGroup").some((call) => call.error === "ValidationError"),
            "the pin was refused while their refresh ran",
          );
          assert.equal(about("CancelInstanceRefresh").length, 0, "their refresh was not cancelled");
          const [theirs, ours] = session.world.autoScaling.refreshes.filter(
            (refresh) => refresh.group === group,
          );
          assert.equal(theirs?.status, "Successful");
          assert.equal(ours?.status, "Successful");
          const record = state.groups.find((candidate) => candidate.group === "golden-busy");
          assert.equal(record?.status, "succeeded", record?.reason);
        },
      } satisfies Row;
    })(),
    {
      fault:
        "forged queue messages (well-formed, naming an attacker's AMI: for a target of the rollout, for none)",
      inject: () => undefined,
      forgedQueueMessages: (imageArn) => [
        // Ids of a real target: a duplicate delivery; the AMI and pipeline come from our records.
        {
          rolloutId: imageArn,
          accountId: ACCOUNTS[0]?.id,
          region: REGION,
          pipeline: "golden",
          amiId: ATTACKER_AMI,
        },
        // No target the rollout recorded: refused, consumed, never dead-lettered.
        { rolloutId: imageArn, accountId: "666666666666", region: REGION, amiId: ATTACKER_AMI },
        {
          rolloutId: "arn:aws:imagebuilder:eu-west-1:999999999999:image/golden/9.9.9/1",
          accountId: ACCOUNTS[0]?.id,
          region: REGION,
          amiId: ATTACKER_AMI,
        },
      ],
      expect: "succeeded",
      check: (state, { world }) => {
        assert.deepEqual(
          state.targets.filter((target) => target.accountId === "666666666666"),
          [],
          "no target recorded for a message's say-so",
        );
        assert.ok(
          world.autoScaling.refreshes.every((refresh) =>
            world.autoScaling
              .launchPathImages(refresh.group, refresh.desiredConfiguration)
              .every((path) => path.imageId !== ATTACKER_AMI),
          ),
          "no refresh launches the forged AMI",
        );
      },
    },
    {
      fault:
        "forged schedule messages (another rule's Scheduled Event to watch-rollouts, a tick dated before a freeze)",
      inject: () => undefined,
      forgedInvocations: [
        {
          functionName: "watch-rollouts",
          event: ({ world }) => ({
            version: "0",
            id: "forged-poll",
            "detail-type": "Scheduled Event",
            source: "aws.events",
            account: world.orchestratorAccountId,
            time: world.clock.iso(),
            region: world.orchestratorRegion,
            resources: [
              `arn:aws:events:${world.orchestratorRegion}:${world.orchestratorAccountId}:rule/someone-elses-rule`,
            ],
            detail: {},
          }),
          refused: /not this stack's poll rule/,
        },
        {
          // Our clock is inside the pipeline's freeze; the tick claims a time before it.
          functionName: "start-pipelines",
          event: () => ({ pipeline: "frozen", scheduledTime: "2026-10-15T02:00:00Z" }),
          returns: (result) =>
            assert.deepEqual(
              (result as { results: Array<{ outcome: string }> }).results.map(
                (pipeline) => pipeline.outcome,
              ),
              ["skipped-freeze"],
            ),
        },
      ],
      expect: "succeeded",
      check: (_, { world }) =>
        assert.equal(world.imageBuilder.imagesOf(FROZEN_PIPELINE).length, 0, "no frozen build"),
    },
  ],
);
