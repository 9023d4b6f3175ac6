import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  AutoScalingClient,
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type InstanceRefresh,
} from "@aws-sdk/client-auto-scaling";
import {
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, KMSClient, ListGrantsCommand } from "@aws-sdk/client-kms";
import { parseLaunchUnsuccessfulEvent } from "../../../lib/events/launch-unsuccessful.ts";
import { AUTO_SCALING_GRANT_OPERATIONS } from "../../../lib/kms/grants.ts";
import { diagnoseLaunchFailure } from "../../../lib/launch-failures/diagnose.ts";
import { BUILD_ACCOUNT, repoPath } from "../../helpers/fixtures.ts";
import {
  answerLaunchChain,
  autoScalingSlrArn,
  buildKeyArn,
  describedGroup,
  mockedTargetAccount,
  PROD_ACCOUNT,
} from "../../helpers/target-account.ts";

const target = mockedTargetAccount();
const { autoScaling, ec2, kms } = target;

const TARGET = PROD_ACCOUNT;
const BUILD = BUILD_ACCOUNT;
const KEY = buildKeyArn("eu-west-3");
const NEW_KEY = buildKeyArn("eu-west-3", "2a3b4c5d-0000-4a5b-8c9d-444455556666");
const SLR = autoScalingSlrArn(TARGET, "web");

const sample = () =>
  JSON.parse(readFileSync(repoPath("events/asg-launch-unsuccessful.json"), "utf8"));
const eventWith = (statusMessage: string, cause?: string) => {
  const raw = sample();
  raw.detail.StatusMessage = statusMessage;
  if (cause !== undefined) raw.detail.Cause = cause;
  return parseLaunchUnsuccessfulEvent(raw);
};

const clients = () => ({
  autoScaling: new AutoScalingClient({}),
  ec2: new EC2Client({}),
  kms: new KMSClient({}),
  owner: () => new EC2Client({}),
});

const webApi = (shape: Partial<AutoScalingGroup> = {}): AutoScalingGroup =>
  describedGroup("web-api", {
    LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "$Default" },
    ServiceLinkedRoleARN: SLR,
    DesiredCapacity: 3,
    AvailabilityZones: ["eu-west-3b"],
    ...shape,
  });

/** A group on template lt-web version 7, AMI owned by the build account, one encrypted snapshot. */
const healthyChain = () => {
  autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [webApi()] });
  autoScaling.on(DescribeInstanceRefreshesCommand).resolves({ InstanceRefreshes: [] });
  answerLaunchChain(target, { version: 7, imageId: "ami-0abc", ownerId: BUILD, keyArn: KEY });
  kms.on(ListGrantsCommand).resolves({
    Grants: [{ GranteePrincipal: SLR, Operations: [...AUTO_SCALING_GRANT_OPERATIONS] }],
  });
};

const INTERNAL = "Client.InternalError: Client error on launch";

describe("diagnosing a failed launch", () => {
  it("parses the EventBridge reference's event shape", () => {
    const event = parseLaunchUnsuccessfulEvent(sample());
    assert.equal(event.autoScalingGroupName, "web-api");
    assert.equal(event.accountId, TARGET);
    assert.equal(event.activityId, "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a");
    assert.equal(event.availabilityZone, "eu-west-3b");
    assert.throws(
      () =>
        parseLaunchUnsuccessfulEvent({
          ...sample(),
          "detail-type": "EC2 Instance Launch Successful",
        }),
      /detail-type/,
    );
  });

  it("Client.InternalError: follows group → template version → AMI → snapshots → key, and names the missing grant for the group's service-linked role", async () => {
    healthyChain();
    // EBS's own grants are on the key, but none for the group's role (every page is read).
    kms
      .on(ListGrantsCommand)
      .resolvesOnce({
        Grants: [{ GranteePrincipal: "ebs.amazonaws.com", Operations: ["Decrypt"] }],
        Truncated: true,
        NextMarker: "m1",
      })
      .resolves({ Grants: [] });

    const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());

    assert.equal(diagnosis.cause, "missing-grant");
    assert.deepEqual(diagnosis.missingGrants, [{ keyArn: KEY, granteePrincipal: SLR }]);
    assert.match(diagnosis.explanation, /AWSServiceRoleForAutoScaling_web has no grant/);
    assert.deepEqual(diagnosis.chain, [
      "group web-api launches web version 7 ($Default)",
      "version 7 launches ami-0abc",
      `ami-0abc (owner ${BUILD}) has snapshots encrypted with ${KEY}`,
      `key ${KEY} is Enabled`,
    ]);
    assert.equal(diagnosis.statusMessage, INTERNAL);
    const listed = kms.commandCalls(ListGrantsCommand).map((call) => call.args[0].input);
    assert.equal(listed.length, 2, "both pages");
    for (const input of listed) assert.equal(input.GranteePrincipal, SLR);
  });

  it("a grant with fewer than the 8 operations is a missing grant", async () => {
    healthyChain();
    kms.on(ListGrantsCommand).resolves({
      Grants: [{ GranteePrincipal: SLR, Operations: ["Decrypt", "DescribeKey"] }],
    });
    const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(diagnosis.cause, "missing-grant");
  });

  it("names a disabled key, and a key pending deletion, before looking for grants", async () => {
    healthyChain();
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: { KeyId: "k", Arn: KEY, KeyManager: "CUSTOMER", KeyState: "Disabled" },
    });
    const disabled = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(disabled.cause, "key-disabled");
    assert.deepEqual(disabled.missingGrants, []);
    assert.equal(kms.commandCalls(ListGrantsCommand).length, 0);

    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: { KeyId: "k", Arn: KEY, KeyManager: "CUSTOMER", KeyState: "PendingDeletion" },
    });
    const pending = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(pending.cause, "key-pending-deletion");
    assert.match(pending.fix ?? "", /CancelKeyDeletion/);
  });

  it("a key policy that no longer admits the account is the broken link (DescribeKey refused)", async () => {
    healthyChain();
    kms.on(DescribeKeyCommand).rejects(
      Object.assign(new Error("not authorized to perform: kms:DescribeKey"), {
        name: "AccessDeniedException",
      }),
    );
    const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(diagnosis.cause, "key-policy");
    assert.deepEqual(diagnosis.missingGrants, []);
  });

  it("grants that cannot be listed are reported as unknown, not as missing", async () => {
    healthyChain();
    kms.on(ListGrantsCommand).rejects(
      Object.assign(new Error("not authorized to perform: kms:ListGrants"), {
        name: "AccessDeniedException",
      }),
    );
    const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(diagnosis.cause, "key-policy");
    assert.match(diagnosis.fix ?? "", /kms:ListGrants/);
    assert.deepEqual(diagnosis.missingGrants, []);
  });

  it("an intact chain says so rather than inventing a cause", async () => {
    healthyChain();
    const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(diagnosis.cause, "chain-intact");
    assert.equal(diagnosis.chain.at(-1), `${SLR} has a grant with the 8 operations on ${KEY}`);
  });

  it("a deregistered AMI in the chain is named", async () => {
    healthyChain();
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());
    assert.equal(diagnosis.cause, "ami-unavailable");
  });

  for (const [message, cause, link] of [
    [
      "The image id '[ami-0abc]' does not exist. Launching EC2 instance failed.",
      "ami-unavailable",
      /#Images/,
    ],
    [
      "We currently do not have sufficient m7g.large capacity in the Availability Zone you requested (eu-west-3b). Launching EC2 instance failed.",
      "insufficient-capacity",
      /AutoScalingGroupDetails/,
    ],
    [
      "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Launching EC2 instance failed.",
      "instance-quota",
      /servicequotas/,
    ],
    [
      "The specified launch template, with template ID lt-0123, does not exist. Launching EC2 instance failed.",
      "invalid-launch-template",
      /LaunchTemplates/,
    ],
    [
      "Value (web-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name. Launching EC2 instance failed.",
      "instance-profile",
      /iam/,
    ],
  ] as const) {
    it(`recognises ${cause} from the status message, with a console link and a fix, without AWS calls`, async () => {
      const diagnosis = await diagnoseLaunchFailure(eventWith(message), clients());
      assert.equal(diagnosis.cause, cause);
      assert.match(diagnosis.consoleUrl ?? "", link);
      assert.ok(diagnosis.fix);
      assert.equal(diagnosis.statusMessage, message);
      assert.equal(autoScaling.calls().length + ec2.calls().length + kms.calls().length, 0);
    });
  }

  /**
   * A second AMI the group can launch: `ami-0new` (snapshot snap-2, NEW_KEY, on which the role
   * has no grant), as version 8 of lt-web; the saved chain (version 7, ami-0abc) stays intact.
   */
  const newAmiWithoutGrant = () => {
    ec2
      .on(DescribeLaunchTemplateVersionsCommand, { LaunchTemplateId: "lt-web", Versions: ["8"] })
      .resolves({
        LaunchTemplateVersions: [
          {
            LaunchTemplateId: "lt-web",
            LaunchTemplateName: "web",
            VersionNumber: 8,
            LaunchTemplateData: { ImageId: "ami-0new" },
          },
        ],
      });
    ec2.on(DescribeImagesCommand, { ImageIds: ["ami-0new"] }).resolves({
      Images: [
        {
          ImageId: "ami-0new",
          OwnerId: BUILD,
          BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-2" } }],
        },
      ],
    });
    ec2.on(DescribeSnapshotsCommand, { SnapshotIds: ["snap-2"] }).resolves({
      Snapshots: [{ SnapshotId: "snap-2", Encrypted: true, KmsKeyId: NEW_KEY }],
    });
    kms.on(DescribeKeyCommand, { KeyId: NEW_KEY }).resolves({
      KeyMetadata: { KeyId: "k2", Arn: NEW_KEY, KeyManager: "CUSTOMER", KeyState: "Enabled" },
    });
    kms.on(ListGrantsCommand, { KeyId: NEW_KEY }).resolves({ Grants: [] });
  };
  // The sample event's time: the launch failed at 09:14:02Z.
  const refresh = (shape: Partial<InstanceRefresh>): InstanceRefresh => ({
    InstanceRefreshId: "rf-1",
    AutoScalingGroupName: "web-api",
    Status: "InProgress",
    StartTime: new Date("2026-12-21T09:00:00Z"),
    DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "8" } },
    ...shape,
  });

  describe("during an instance refresh, launches follow its desired configuration (EC2 Auto Scaling user guide, instance refresh core concepts)", () => {
    it("a scale-out during a refresh is diagnosed against the refresh's new AMI, not the group's saved one", async () => {
      healthyChain();
      newAmiWithoutGrant();
      autoScaling
        .on(DescribeInstanceRefreshesCommand)
        .resolves({ InstanceRefreshes: [refresh({})] });

      const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());

      assert.equal(diagnosis.cause, "missing-grant");
      assert.deepEqual(diagnosis.missingGrants, [{ keyArn: NEW_KEY, granteePrincipal: SLR }]);
      assert.match(diagnosis.explanation, /ami-0new/);
      assert.match(diagnosis.explanation, /instance refresh rf-1/);
      assert.ok(diagnosis.chain.some((link) => /web version 8 \(8\)/.test(link)));
      assert.ok(
        !diagnosis.chain.some((link) => /ami-0abc/.test(link)),
        "the saved AMI is not what launched",
      );
      const [listed, ...more] = autoScaling.commandCalls(DescribeInstanceRefreshesCommand);
      assert.equal(more.length, 0, "one DescribeInstanceRefreshes");
      assert.equal(listed?.args[0].input.AutoScalingGroupName, "web-api");
      assert.ok((listed?.args[0].input.MaxRecords ?? 50) <= 5, "a few records, not the default 50");
    });

    it("a refresh rolling back: both the refresh's AMI (its launches until the rollback) and the saved one (the rollback's launches) are checked", async () => {
      healthyChain();
      newAmiWithoutGrant();
      autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
        InstanceRefreshes: [refresh({ Status: "RollbackInProgress" })],
      });

      const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());

      assert.equal(diagnosis.cause, "missing-grant");
      assert.deepEqual(diagnosis.missingGrants, [{ keyArn: NEW_KEY, granteePrincipal: SLR }]);
      assert.ok(diagnosis.chain.some((link) => /ami-0abc/.test(link)));
      assert.ok(diagnosis.chain.some((link) => /ami-0new/.test(link)));
    });

    it("a refresh that started after the launch, or ended before it, is not what launched", async () => {
      healthyChain();
      newAmiWithoutGrant();
      autoScaling.on(DescribeInstanceRefreshesCommand).resolves({
        InstanceRefreshes: [
          refresh({ InstanceRefreshId: "rf-later", StartTime: new Date("2026-12-21T09:20:00Z") }),
          refresh({
            InstanceRefreshId: "rf-earlier",
            Status: "Failed",
            StartTime: new Date("2026-12-21T08:00:00Z"),
            EndTime: new Date("2026-12-21T08:30:00Z"),
          }),
        ],
      });

      const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());

      assert.equal(diagnosis.cause, "chain-intact");
      assert.equal(diagnosis.chain[0], "group web-api launches web version 7 ($Default)");
    });
  });

  describe("mixed instances policies: every AMI the group can launch is checked (the event does not say which override launched)", () => {
    const mixed = (
      overrides: NonNullable<AutoScalingGroup["MixedInstancesPolicy"]>["LaunchTemplate"],
    ) =>
      autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
        AutoScalingGroups: [
          webApi({
            LaunchTemplate: undefined,
            MixedInstancesPolicy: { LaunchTemplate: overrides },
          }),
        ],
      });

    it("an override with its own ImageId whose key lacks a grant is found, and named with its instance type", async () => {
      healthyChain();
      newAmiWithoutGrant();
      mixed({
        LaunchTemplateSpecification: { LaunchTemplateId: "lt-web", Version: "$Default" },
        Overrides: [
          { InstanceType: "m7i.large" },
          { InstanceType: "m7g.large", ImageId: "ami-0new" },
        ],
      });

      const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());

      assert.equal(diagnosis.cause, "missing-grant");
      assert.deepEqual(diagnosis.missingGrants, [{ keyArn: NEW_KEY, granteePrincipal: SLR }]);
      assert.match(diagnosis.explanation, /override for m7g\.large/);
      assert.match(diagnosis.explanation, /ami-0new/);
      assert.ok(
        diagnosis.chain.some((link) => /ami-0abc/.test(link)),
        "the main template's AMI too",
      );
      // One lookup per distinct template, AMI and key.
      assert.equal(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand).length, 1);
      assert.equal(ec2.commandCalls(DescribeImagesCommand).length, 2);
      assert.equal(kms.commandCalls(DescribeKeyCommand).length, 2);
    });

    it("an override with its own launch template: that template's AMI is checked", async () => {
      healthyChain();
      newAmiWithoutGrant();
      mixed({
        LaunchTemplateSpecification: { LaunchTemplateId: "lt-web", Version: "$Default" },
        Overrides: [
          { InstanceType: "m7i.large" },
          {
            InstanceType: "m7g.large",
            LaunchTemplateSpecification: { LaunchTemplateId: "lt-web", Version: "8" },
          },
        ],
      });

      const diagnosis = await diagnoseLaunchFailure(eventWith(INTERNAL), clients());

      assert.equal(diagnosis.cause, "missing-grant");
      assert.match(diagnosis.explanation, /override for m7g\.large/);
      assert.deepEqual(diagnosis.missingGrants, [{ keyArn: NEW_KEY, granteePrincipal: SLR }]);
    });
  });

  it("passes an unknown message through verbatim", async () => {
    const message = "Something new happened. Launching EC2 instance failed.";
    const diagnosis = await diagnoseLaunchFailure(eventWith(message), clients());
    assert.equal(diagnosis.cause, "unknown");
    assert.equal(diagnosis.explanation, message);
    assert.equal(diagnosis.fix, undefined);
  });
});
