import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  AutoScalingClient,
  CancelInstanceRefreshCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  InstanceRefreshInProgressFault,
  StartInstanceRefreshCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  CreateServiceLinkedRoleCommand,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import {
  classifyGroup,
  type DiscoveredGroup,
  discoverGroups,
} from "../../../lib/auto-scaling/groups.ts";
import {
  desiredConfiguration,
  type InstanceRefreshSettings,
  policyToSendBack,
  refreshPreferences,
  startInstanceRefresh,
} from "../../../lib/auto-scaling/instance-refresh.ts";
import { ensureDefaultServiceLinkedRole } from "../../../lib/auto-scaling/service-linked-role.ts";

const autoscaling = mockClient(AutoScalingClient);
const iam = mockClient(IAMClient);
const SLR =
  "arn:aws:iam::111111111111:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";

const settings = (overrides: Partial<InstanceRefreshSettings> = {}): InstanceRefreshSettings => ({
  minHealthyPercentage: 90,
  skipMatching: true,
  autoRollback: true,
  whenInProgress: "wait",
  strategy: "Rolling",
  ...overrides,
});

describe("discoverGroups", () => {
  beforeEach(() => autoscaling.reset());

  it("filters by every configured tag, follows pages, and reads each group's template and role", async () => {
    autoscaling
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({
        AutoScalingGroups: [
          {
            AutoScalingGroupName: "web",
            LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "$Latest" },
            ServiceLinkedRoleARN: SLR,
            DesiredCapacity: 4,
          } as never,
        ],
        NextToken: "page-2",
      })
      .resolvesOnce({
        AutoScalingGroups: [
          {
            AutoScalingGroupName: "batch",
            MixedInstancesPolicy: {
              LaunchTemplate: {
                LaunchTemplateSpecification: { LaunchTemplateName: "batch", Version: "3" },
              },
              InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 0 },
            },
            ServiceLinkedRoleARN: `${SLR}_batch`,
          } as never,
          { AutoScalingGroupName: "legacy", LaunchConfigurationName: "legacy-lc-2019" } as never,
        ],
      });

    const found = await discoverGroups(new AutoScalingClient({}), {
      tags: { "ami-orchestrator:pipeline": "base", team: "web" },
    });

    const calls = autoscaling.commandCalls(DescribeAutoScalingGroupsCommand);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0]?.args[0].input.Filters, [
      { Name: "tag:ami-orchestrator:pipeline", Values: ["base"] },
      { Name: "tag:team", Values: ["web"] },
    ]);
    assert.deepEqual(
      found.groups.map((group) => [group.name, group.launchTemplate, group.serviceLinkedRoleArn]),
      [
        ["web", { launchTemplateId: "lt-web", version: "$Latest" }, SLR],
        ["batch", { launchTemplateName: "batch", version: "3" }, `${SLR}_batch`],
      ],
    );
    assert.ok(found.groups[1]?.mixedInstancesPolicy);
    assert.equal(found.unsupported[0]?.name, "legacy");
    assert.match(found.unsupported[0]?.reason ?? "", /launch configuration legacy-lc-2019/);
  });

  it("looks groups up by name and reports the configured names that do not exist", async () => {
    autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        { AutoScalingGroupName: "web", LaunchTemplate: { LaunchTemplateId: "lt" } } as never,
      ],
    });

    const found = await discoverGroups(new AutoScalingClient({}), { names: ["web", "api"] });

    assert.deepEqual(
      autoscaling.commandCalls(DescribeAutoScalingGroupsCommand)[0]?.args[0].input
        .AutoScalingGroupNames,
      ["web", "api"],
    );
    assert.deepEqual(found.missing, ["api"]);
    assert.equal(found.groups[0]?.launchTemplate?.version, "$Default");
  });
});

describe("instance refresh", () => {
  beforeEach(() => autoscaling.reset());

  const plain: DiscoveredGroup = {
    name: "web",
    launchTemplate: { launchTemplateId: "lt-web", version: "$Latest" },
    desiredCapacity: 4,
    attributeBased: false,
    overrideImageIds: [],
  };

  it("pins the group to the new explicit version with the configured preferences", async () => {
    autoscaling.on(StartInstanceRefreshCommand).resolves({ InstanceRefreshId: "r-1" });
    const config = settings({
      instanceWarmup: 300,
      checkpointPercentages: [25, 100],
      checkpointDelay: 600,
      alarms: ["web-5xx"],
    });

    const started = await startInstanceRefresh(
      new AutoScalingClient({}),
      plain,
      { launchTemplateId: "lt-web", versionNumber: 8 },
      config,
    );

    assert.deepEqual(started, { status: "started", instanceRefreshId: "r-1" });
    assert.deepEqual(autoscaling.commandCalls(StartInstanceRefreshCommand)[0]?.args[0].input, {
      AutoScalingGroupName: "web",
      Strategy: "Rolling",
      DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "8" } },
      Preferences: {
        MinHealthyPercentage: 90,
        SkipMatching: true,
        AutoRollback: true,
        InstanceWarmup: 300,
        CheckpointPercentages: [25, 100],
        CheckpointDelay: 600,
        AlarmSpecification: { Alarms: ["web-5xx"] },
      },
    });
  });

  it("keeps the whole mixed instances policy, with the new version on the template and its overrides", () => {
    const group: DiscoveredGroup = {
      name: "batch",
      launchTemplate: { launchTemplateName: "batch", version: "3" },
      desiredCapacity: 2,
      attributeBased: false,
      overrideImageIds: [],
      mixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateName: "batch", Version: "3" },
          Overrides: [
            { InstanceType: "m7g.large" },
            {
              InstanceType: "m7i.large",
              LaunchTemplateSpecification: { LaunchTemplateName: "batch", Version: "3" },
            },
            {
              InstanceType: "c7i.large",
              LaunchTemplateSpecification: { LaunchTemplateName: "x86-other", Version: "1" },
            },
          ],
        },
        InstancesDistribution: {
          OnDemandBaseCapacity: 1,
          SpotAllocationStrategy: "price-capacity-optimized",
        },
      },
    };

    const desired = desiredConfiguration(group, "lt-batch", 4);

    assert.equal(desired.LaunchTemplate, undefined);
    assert.deepEqual(desired.MixedInstancesPolicy, {
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: "lt-batch", Version: "4" },
        Overrides: [
          { InstanceType: "m7g.large" },
          {
            InstanceType: "m7i.large",
            LaunchTemplateSpecification: { LaunchTemplateId: "lt-batch", Version: "4" },
          },
          {
            InstanceType: "c7i.large",
            LaunchTemplateSpecification: { LaunchTemplateName: "x86-other", Version: "1" },
          },
        ],
      },
      InstancesDistribution: {
        OnDemandBaseCapacity: 1,
        SpotAllocationStrategy: "price-capacity-optimized",
      },
    });
  });

  it("waits when a refresh is already active and the policy is wait", async () => {
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
    autoscaling
      .on(StartInstanceRefreshCommand)
      .rejects(new InstanceRefreshInProgressFault({ message: "in progress", $metadata: {} }));

    const started = await startInstanceRefresh(
      new AutoScalingClient({}),
      plain,
      { launchTemplateId: "lt-web", versionNumber: 8 },
      settings(),
    );

    assert.deepEqual(started, { status: "waiting-for-active-refresh" });
    assert.equal(autoscaling.commandCalls(CancelInstanceRefreshCommand).length, 0);
  });

  it("cancels the active refresh when the policy is cancel, and starts again later", async () => {
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        {
          InstanceRefreshId: "someone-elses",
          Status: "InProgress",
          DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "7" } },
        },
      ],
    });
    autoscaling
      .on(StartInstanceRefreshCommand)
      .rejects(new InstanceRefreshInProgressFault({ message: "in progress", $metadata: {} }));
    autoscaling.on(CancelInstanceRefreshCommand).resolves({ InstanceRefreshId: "old" });

    const started = await startInstanceRefresh(
      new AutoScalingClient({}),
      plain,
      { launchTemplateId: "lt-web", versionNumber: 8 },
      settings({ whenInProgress: "cancel" }),
    );

    assert.deepEqual(started, { status: "cancelling-active-refresh" });
    assert.deepEqual(autoscaling.commandCalls(CancelInstanceRefreshCommand)[0]?.args[0].input, {
      AutoScalingGroupName: "web",
    });
  });

  it("adopts the active refresh when it is ours (started by a delivery that crashed before recording it)", async () => {
    autoscaling
      .on(StartInstanceRefreshCommand)
      .rejects(new InstanceRefreshInProgressFault({ message: "in progress", $metadata: {} }));
    autoscaling.on(DescribeInstanceRefreshesCommand).resolves({
      InstanceRefreshes: [
        {
          InstanceRefreshId: "ours",
          Status: "InProgress",
          DesiredConfiguration: {
            MixedInstancesPolicy: {
              LaunchTemplate: {
                LaunchTemplateSpecification: { LaunchTemplateId: "lt-web", Version: "8" },
              },
            },
          },
        },
      ],
    });

    const started = await startInstanceRefresh(
      new AutoScalingClient({}),
      plain,
      { launchTemplateId: "lt-web", versionNumber: 8 },
      settings({ whenInProgress: "cancel" }),
    );

    assert.deepEqual(started, { status: "started", instanceRefreshId: "ours", adopted: true });
    assert.equal(autoscaling.commandCalls(CancelInstanceRefreshCommand).length, 0);
  });

  it("leaves unset preferences to AWS defaults", () => {
    assert.deepEqual(Object.keys(refreshPreferences(settings())), [
      "MinHealthyPercentage",
      "SkipMatching",
      "AutoRollback",
    ]);
  });
});

describe("ensureDefaultServiceLinkedRole", () => {
  beforeEach(() => iam.reset());

  it("does nothing when the role exists", async () => {
    iam.on(GetRoleCommand).resolves({});
    assert.equal(await ensureDefaultServiceLinkedRole(new IAMClient({})), "existed");
    assert.equal(iam.commandCalls(CreateServiceLinkedRoleCommand).length, 0);
  });

  it("creates it when missing", async () => {
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: "no", $metadata: {} }));
    iam.on(CreateServiceLinkedRoleCommand).resolves({});
    assert.equal(await ensureDefaultServiceLinkedRole(new IAMClient({})), "created");
    assert.deepEqual(iam.commandCalls(CreateServiceLinkedRoleCommand)[0]?.args[0].input, {
      AWSServiceName: "autoscaling.amazonaws.com",
    });
  });
});

describe("classifyGroup", () => {
  it("reports, instead of half-updating, a group whose overrides launch from another template", () => {
    const classified = classifyGroup({
      AutoScalingGroupName: "multi-arch",
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: "lt-x86", Version: "3" },
          Overrides: [
            { InstanceType: "m7i.large" },
            {
              InstanceType: "m7g.large",
              LaunchTemplateSpecification: { LaunchTemplateId: "lt-arm64", Version: "2" },
            },
          ],
        },
      },
    } as never);

    assert.ok("reason" in classified);
    assert.match(classified.reason, /other launch templates \(lt-arm64\)/);
  });

  it("rolls a group whose overrides only repeat its own template", () => {
    const classified = classifyGroup({
      AutoScalingGroupName: "batch",
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateName: "batch", Version: "3" },
          Overrides: [
            {
              InstanceType: "m7i.large",
              LaunchTemplateSpecification: { LaunchTemplateName: "batch", Version: "3" },
            },
          ],
        },
      },
    } as never);

    assert.ok(!("reason" in classified));
  });
});

describe("policyToSendBack", () => {
  it("drops SpotInstancePools unless the strategy is lowest-price (AWS refuses it otherwise)", () => {
    const policy = (strategy: string) => ({
      InstancesDistribution: { SpotAllocationStrategy: strategy, SpotInstancePools: 2 },
    });

    assert.equal(
      policyToSendBack(policy("price-capacity-optimized")).InstancesDistribution?.SpotInstancePools,
      undefined,
    );
    assert.equal(
      policyToSendBack(policy("lowest-price")).InstancesDistribution?.SpotInstancePools,
      2,
    );
  });
});
