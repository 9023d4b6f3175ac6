import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { grantName } from "../../lib/kms/grants.ts";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import { KmsModel } from "../../sandbox/model/kms.ts";
import { onePipelineConfig, rolledOutProdApp } from "../helpers/sandbox-scenario.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";
import { PROD_ACCOUNT } from "../helpers/target-account.ts";

const PROD = PROD_ACCOUNT;

const CONFIG = onePipelineConfig({
  account: "prod",
  rollout: ["instanceRefresh: { minHealthyPercentage: 90, instanceWarmup: 60 }"],
  grantPropagationSeconds: 120,
});

type Alert = { kind: string; cause: string; group: string; action: string; activityId: string };

/** Failed launches after a rollout, in the sandbox: the Client.InternalError chain, healed. */
describe("failed launches: explained, deduplicated, and a lost grant healed (sandbox)", () => {
  let app: SandboxGroup;
  let keyArn: string;

  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" }, async (session) => {
    ({ app, keyArn } = await rolledOutProdApp(session));
  });

  const launchAlerts = () =>
    sandbox.session.world.queues.alerts.messages
      .map((message) => JSON.parse(message.body) as Alert)
      .filter((alert) => alert.kind === "launch-failed");
  const grantsFor = (grantee: string) =>
    sandbox.session.world.kms
      .grantsOn(keyArn)
      .filter((grant) => grant.granteePrincipal === grantee);

  it("a grant revoked after the rollout: 40 failed scale-outs, one diagnosis alert, one grant recreated, then launches succeed", async () => {
    const { world, lambda } = sandbox.session;
    const slr = app.serviceLinkedRoleArn;
    assert.equal(world.kms.revokeGrants(keyArn, slr), 1);
    world.clock.advance(30 * 24 * 3600_000);

    for (let n = 0; n < 40; n += 1) {
      const activity = world.autoScaling.scaleOut(app);
      assert.equal(activity.statusCode, "Failed");
      assert.equal(activity.statusMessage, "Client.InternalError: Client error on launch");
    }
    const before = world.queues.alerts.messages.length;
    const deliveries = await lambda.deliverLaunchEvents();
    assert.equal(deliveries.length, 40);
    assert.deepEqual(
      deliveries.filter((delivery) => delivery.error).map((delivery) => delivery.error?.message),
      [],
    );
    const alerts = sandbox.session.world.queues.alerts.messages
      .slice(before)
      .map((message) => JSON.parse(message.body) as Alert);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.cause, "missing-grant");
    assert.equal(alerts[0]?.group, "base-al2023-app");
    assert.match(alerts[0]?.action ?? "", /^created grant /);
    // Healed exactly as a rollout grants: one grant, same name, from the target account.
    const healed = grantsFor(slr);
    assert.equal(healed.length, 1);
    assert.equal(healed[0]?.name, grantName(keyArn, slr));
    assert.equal(healed[0]?.createdBy, PROD);

    world.clock.advance(10 * 60_000);
    assert.equal(world.autoScaling.scaleOut(app).statusCode, "Successful");
  });

  it("a recurrence after a successful launch raises a new alert, and healing again adds no grant", async () => {
    const { world, lambda } = sandbox.session;
    const slr = app.serviceLinkedRoleArn;
    world.kms.revokeGrants(keyArn, slr);
    world.clock.advance(60_000);
    const before = launchAlerts().length;
    world.autoScaling.scaleOut(app);
    world.autoScaling.scaleOut(app);
    await lambda.deliverLaunchEvents();
    assert.equal(launchAlerts().length, before + 1);
    assert.equal(grantsFor(slr).length, 1);
  });

  it("a group outside the config is diagnosed, never healed", async () => {
    const { world, lambda } = sandbox.session;
    const template = [...world.ec2.templates.values()].find(
      (candidate) => candidate.accountId === PROD && candidate.name === "base-al2023-app-lt",
    );
    assert.ok(template);
    const other = world.autoScaling.addGroup({
      name: "team-b-app",
      accountId: PROD,
      region: "eu-west-1",
      tags: { team: "b" },
      serviceLinkedRoleArn: slrArn(PROD, "teamb"),
      desiredCapacity: 1,
      launchTemplate: { LaunchTemplateId: template.id, Version: "$Latest" },
    });
    world.clock.advance(60_000);
    const mutating = world.mutatingCalls().length;
    assert.equal(world.autoScaling.scaleOut(other).statusCode, "Failed");
    await lambda.deliverLaunchEvents();
    const alert = launchAlerts().at(-1);
    assert.equal(alert?.group, "team-b-app");
    assert.equal(alert?.cause, "missing-grant");
    assert.match(alert?.action ?? "", /^not healed: the group is not selected/);
    assert.equal(grantsFor(slrArn(PROD, "teamb")).length, 0);
    // Nothing changed in the target account: the only write is the alert on our own queue.
    assert.deepEqual(
      world
        .mutatingCalls()
        .slice(mutating)
        .map((call) => `${call.service}:${call.operation}`),
      ["sqs:SendMessage"],
    );
  });

  it("a disabled key is named as the broken link, and nothing is healed (a grant would not help)", async () => {
    const { world, lambda } = sandbox.session;
    const key = world.kms.keys.get(keyArn);
    assert.ok(key);
    key.state = "Disabled";
    try {
      world.clock.advance(7 * 3600_000);
      const grants = world.kms.grantsOn(keyArn).length;
      assert.equal(world.autoScaling.scaleOut(app).statusCode, "Failed");
      const [delivery] = await lambda.deliverLaunchEvents();
      assert.equal(delivery?.error, undefined);
      const alert = launchAlerts().at(-1) as Alert & { explanation: string };
      assert.equal(alert.group, "base-al2023-app");
      assert.equal(alert.cause, "key-disabled");
      assert.match(alert.explanation, /is disabled/);
      assert.equal(alert.action, "nothing: diagnosis only");
      assert.equal(world.kms.grantsOn(keyArn).length, grants);
    } finally {
      key.state = "Enabled";
    }
  });

  for (const [cause, message] of [
    [
      "insufficient-capacity",
      "We currently do not have sufficient m7g.large capacity in the Availability Zone you requested (eu-west-1a). Launching EC2 instance failed.",
    ],
    [
      "instance-quota",
      "You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Launching EC2 instance failed.",
    ],
    [
      "instance-profile",
      "Value (base-al2023-app-instance) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name. Launching EC2 instance failed.",
    ],
    [
      "invalid-launch-template",
      "The specified launch template, with template ID lt-0123456789abcdef0, does not exist. Launching EC2 instance failed.",
    ],
    [
      "ami-unavailable",
      "The image id '[ami-0123456789abcdef0]' does not exist. Launching EC2 instance failed.",
    ],
    ["unknown", "Something EC2 has never said before. Launching EC2 instance failed."],
  ] as const) {
    it(`${cause}: recognised from the launch's message, explained with its fix, nothing changed`, async () => {
      const { world, lambda } = sandbox.session;
      world.clock.advance(7 * 3600_000);
      world.autoScaling.injectedLaunchErrors.set(app, [message]);
      const mutating = world.mutatingCalls().length;
      assert.equal(world.autoScaling.scaleOut(app).statusCode, "Failed");
      const [delivery] = await lambda.deliverLaunchEvents();
      assert.equal(delivery?.error, undefined);
      const alert = launchAlerts().at(-1) as Alert & {
        explanation: string;
        statusMessage: string;
        fix?: string;
      };
      assert.equal(alert.cause, cause);
      assert.equal(alert.statusMessage, message);
      if (cause === "unknown") {
        assert.equal(alert.explanation, message);
        assert.equal(alert.fix, undefined);
      } else assert.ok(alert.fix);
      assert.deepEqual(
        world
          .mutatingCalls()
          .slice(mutating)
          .map((call) => `${call.service}:${call.operation}`),
        ["sqs:SendMessage"],
      );
    });
  }

  /**
   * A newer AMI copied into the target account with one of its own keys (which the target role
   * may describe), on which no grant was made.
   */
  const amiWithoutGrant = (imageId: string, label: string) => {
    const { world } = sandbox.session;
    const key = KmsModel.keyArn(PROD, "eu-west-1", label);
    world.kms.addKey({ arn: key, accountId: PROD, region: "eu-west-1", manager: "CUSTOMER" });
    world.ec2.registerImage({
      imageId,
      ownerId: PROD,
      region: "eu-west-1",
      name: label,
      kmsKeyIds: [key],
    });
    return key;
  };
  const call = (operation: string, input: Record<string, unknown>) => ({
    service: "autoscaling",
    operation,
    accountId: PROD,
    region: "eu-west-1",
    input,
  });

  it("a scale-out during a refresh launches the refresh's AMI: its key's missing grant is found and healed, though the group's saved AMI is fine", async () => {
    const { world, lambda } = sandbox.session;
    world.clock.advance(7 * 3600_000);
    const saved = app.launchTemplate;
    const template = saved?.LaunchTemplateId
      ? world.ec2.templates.get(saved.LaunchTemplateId)
      : undefined;
    const rolledOut = template?.versions.at(-1);
    assert.ok(template && rolledOut, "the app group runs the rollout's template version");
    // The group's saved configuration now launches an unencrypted AMI (someone pinned it back);
    // a refresh rolls it to the rolled-out AMI again, whose key has lost its grant.
    world.ec2.registerImage({
      imageId: "ami-0a11ce0000000001",
      ownerId: PROD,
      region: "eu-west-1",
      name: "unencrypted",
      kmsKeyIds: [undefined],
    });
    const pinned = template.versions.length + 1;
    template.versions.push({
      versionNumber: pinned,
      data: { ...rolledOut.data, ImageId: "ami-0a11ce0000000001" },
    });
    app.launchTemplate = { LaunchTemplateId: template.id, Version: String(pinned) };
    world.kms.revokeGrants(keyArn, app.serviceLinkedRoleArn);
    world.autoScaling.operations.StartInstanceRefresh(
      call("StartInstanceRefresh", {
        AutoScalingGroupName: app.name,
        DesiredConfiguration: {
          LaunchTemplate: {
            LaunchTemplateId: template.id,
            Version: String(rolledOut.versionNumber),
          },
        },
      }),
    );
    world.clock.advance(5_000);
    try {
      const activity = world.autoScaling.scaleOut(app);
      assert.equal(activity.statusCode, "Failed", "the scale-out launched the refresh's AMI");
      const [delivery] = await lambda.deliverLaunchEvents();
      assert.equal(delivery?.error, undefined);
      const alert = launchAlerts().at(-1) as Alert & { explanation: string };
      assert.equal(alert.cause, "missing-grant");
      assert.match(alert.explanation, new RegExp(String(rolledOut.data.ImageId)));
      assert.match(alert.explanation, /instance refresh/);
      assert.match(alert.action, /^created grant /);
      assert.equal(grantsFor(app.serviceLinkedRoleArn).length, 1);
    } finally {
      world.autoScaling.operations.CancelInstanceRefresh(
        call("CancelInstanceRefresh", { AutoScalingGroupName: app.name }),
      );
      world.clock.advance(2 * 60_000);
      if (saved) app.launchTemplate = saved;
    }
  });

  it("a mixed-instances group whose first override has its own ImageId launches that AMI, and its missing grant is found", async () => {
    const { world, lambda } = sandbox.session;
    world.clock.advance(7 * 3600_000);
    const armKey = amiWithoutGrant("ami-0a5a5a5a5a5a5a5a5", "arm-release");
    const spec = app.launchTemplate;
    assert.ok(spec?.LaunchTemplateId);
    const mixed = world.autoScaling.addGroup({
      name: "team-c-workers",
      accountId: PROD,
      region: "eu-west-1",
      tags: { team: "c" },
      serviceLinkedRoleArn: slrArn(PROD, "teamc"),
      desiredCapacity: 1,
      mixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateId: spec.LaunchTemplateId, Version: "1" },
          Overrides: [
            { InstanceType: "m7g.large", ImageId: "ami-0a5a5a5a5a5a5a5a5" },
            { InstanceType: "m7i.large" },
          ],
        },
      },
    });
    assert.equal(world.autoScaling.scaleOut(mixed).statusCode, "Failed");
    const [delivery] = await lambda.deliverLaunchEvents();
    assert.equal(delivery?.error, undefined);
    const alert = launchAlerts().at(-1) as Alert & { explanation: string };
    assert.equal(alert.group, "team-c-workers");
    assert.equal(alert.cause, "missing-grant");
    assert.match(alert.explanation, /override for m7g\.large/);
    assert.match(alert.explanation, new RegExp(armKey.split("/")[1] ?? "?"));
  });
});
