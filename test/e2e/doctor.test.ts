import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import type { DoctorCheck, DoctorReport } from "../../lib/doctor/checks.ts";
import { renderDoctorReport } from "../../lib/doctor/render.ts";
import { AUTO_SCALING_GRANT_OPERATIONS } from "../../lib/kms/grants.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import { KmsModel } from "../../sandbox/model/kms.ts";
import { deployTargetRole } from "../../sandbox/world-from-config.ts";
import { repoPath } from "../helpers/fixtures.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const DEV = "111111111111";
const PROD = "222222222222";
const STAGING = "333333333333";
const BUILD = "999999999999";
const ALERTS = `arn:aws:sns:eu-west-1:${BUILD}:ami-orchestrator-sandbox-alerts`;
const CONFIG = `
notifications:
  slack: { webhookUrlParameter: /ami-orchestrator/slack-webhook }
  email: [platform@example.com, oncall@example.com]
accounts:
  dev: { id: "${DEV}", externalId: ext-dev-01, regions: [eu-west-1] }
  prod: { id: "${PROD}", externalId: ext-prod-01, regions: [eu-west-1, eu-west-3] }
  staging: { id: "${STAGING}", externalId: ext-staging-01, regions: [eu-west-1] }
pipelines:
  - name: base-al2023
    arn: arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/base-al2023
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications
    schedule: { cron: "0 3 ? * MON *", timezone: Europe/Paris }
    rollout:
      waves:
        - { name: dev, accounts: [dev] }
        - { name: prod, accounts: [prod, staging] }
      autoScalingGroups: { tags: { "ami-orchestrator:pipeline": base-al2023 } }
      instanceRefresh: { minHealthyPercentage: 90, instanceWarmup: 60 }
`;

const sandbox = sandboxSuite(
  CONFIG,
  { start: "2026-11-23T01:59:00Z", customSlrAccounts: ["prod"] },
  async ({ handlers, world }) => {
    // An image is built (its notification not yet delivered: nothing rolled out).
    await handlers.startPipelines(
      { pipeline: "base-al2023", scheduledTime: "2026-11-23T02:00:00Z" },
      fakeContext("start-pipelines"),
    );
    world.clock.advance(45 * 60_000);
  },
);

/** What `npm run doctor` sends the deployed watch-rollouts function, run as that function. */
const doctor = async (): Promise<{ report: DoctorReport; mutating: number }> => {
  const before = sandbox.session.world.mutatingCalls().length;
  const report = (await sandbox.session.handlers.watchRollouts(
    { action: "doctor" },
    fakeContext("watch-rollouts"),
  )) as DoctorReport;
  return { report, mutating: sandbox.session.world.mutatingCalls().length - before };
};

const failures = (report: DoctorReport, accountId: string, region: string): DoctorCheck[] =>
  report.pipelines
    .flatMap((pipeline) => pipeline.targets)
    .filter((target) => target.accountId === accountId && target.region === region)
    .flatMap((target) => target.checks.filter((check) => !check.ok));

describe("npm run doctor: a read-only pre-flight of every target", () => {
  it("a healthy deployment is all ✓, target by target, and nothing is changed", async () => {
    const { report, mutating } = await doctor();
    const rendered = renderDoctorReport(report);
    assert.equal(report.failed, 0, rendered);
    assert.ok(report.ok);
    assert.equal(mutating, 0);
    const [pipeline] = report.pipelines;
    assert.match(pipeline?.imageArn ?? "", /image\/base-al2023\//);
    assert.deepEqual(
      pipeline?.targets.map((target) => `${target.wave} ${target.accountId} ${target.region}`),
      [
        `dev ${DEV} eu-west-1`,
        `prod ${PROD} eu-west-1`,
        `prod ${PROD} eu-west-3`,
        `prod ${STAGING} eu-west-1`,
      ],
    );
    for (const target of pipeline?.targets ?? []) {
      const names = target.checks.map((check) => check.check);
      assert.equal(names[0], "assume role");
      for (const kind of [
        /^group /,
        /^service-linked role/,
        /^AMI$/,
        /^grant /,
        /^template /,
        /^launch /,
      ])
        assert.ok(
          names.some((name) => kind.test(name)),
          `${kind} checked in ${target.accountId}/${target.region}`,
        );
      // No grant yet (nothing rolled out): ListGrants found none, the dry run says it would work.
      for (const grant of target.checks.filter((check) => check.check.startsWith("grant ")))
        assert.equal(grant.detail, "no grant yet; CreateGrant would succeed (DryRun)");
      // What Auto Scaling checks at refresh, simulated for the role: RunInstances, PassRole of
      // the instance profile's role (read with GetInstanceProfile), CreateTags for its tags.
      for (const launch of target.checks.filter((check) => check.check.startsWith("launch ")))
        assert.match(
          launch.detail,
          new RegExp(
            `^ec2:RunInstances, iam:PassRole arn:aws:iam::${target.accountId}:role/base-al2023-\\w+-instance-role, ec2:CreateTags at launch \\(instance, volume\\) allowed to arn:aws:iam::${target.accountId}:role/ami-orchestrator-target`,
          ),
        );
    }
    assert.match(rendered, /✓ all checks passed: \d+ passed, 0 failed/);
    assert.match(rendered, /target +role +groups +SLR +AMI +grants +templates +launch/);
    // Reads only: ListGrants and the policy simulation are not mutating calls.
    assert.ok(sandbox.session.world.callsTo("kms:ListGrants", { succeeded: true }).length > 0);
    assert.ok(
      sandbox.session.world.callsTo("iam:SimulatePrincipalPolicy", { succeeded: true }).length > 0,
    );
    // The DryRuns reached AWS and were answered as AWS answers a request that would succeed.
    assert.ok(sandbox.session.world.callsTo("kms:CreateGrant", { succeeded: false }).length > 0);
    assert.ok(
      sandbox.session.world
        .callsTo("ec2:CreateLaunchTemplateVersion", { succeeded: false })
        .every((call) => call.error === "DryRunOperation"),
    );
  });

  it("an existing grant is found with ListGrants and named; a refused ListGrants is said, the dry run still made", async () => {
    const { world } = sandbox.session;
    const key = KmsModel.keyArn(BUILD, "eu-west-1", "ami-encryption");
    world.kms.grants.push({
      grantId: "grant-made-by-hand",
      keyArn: key,
      name: "made-by-hand",
      granteePrincipal: slrArn(DEV),
      operations: [...AUTO_SCALING_GRANT_OPERATIONS],
      createdBy: DEV,
      createdAt: world.clock.now(),
    });
    // staging's stack predates kms:ListGrants in the target role.
    const restore = world.authorizer.withoutPermission(
      `arn:aws:iam::${STAGING}:role/ami-orchestrator-target`,
      "kms:ListGrants",
    );
    const dryRunsBefore = world.callsTo("kms:CreateGrant").length;
    try {
      const { report, mutating } = await doctor();
      assert.equal(mutating, 0);
      const grants = (accountId: string) =>
        report.pipelines
          .flatMap((pipeline) => pipeline.targets)
          .filter((target) => target.accountId === accountId && target.region === "eu-west-1")
          .flatMap((target) => target.checks.filter((check) => check.check.startsWith("grant ")));
      assert.deepEqual(
        grants(DEV).map((check) => [check.ok, check.detail]),
        [[true, "grant exists (made-by-hand)"]],
      );
      const [staging] = grants(STAGING);
      assert.equal(staging?.ok, false);
      assert.match(
        staging?.detail ?? "",
        /^ListGrants refused \(AccessDenied.*kms:ListGrants.*\): whether a grant exists is unknown.*; CreateGrant would succeed \(DryRun\)$/,
      );
      assert.match(staging?.fix ?? "", /kms:ListGrants/);
      // Dry runs for every key × role but dev's, whose grant was found.
      const dryRuns = world.callsTo("kms:CreateGrant").slice(dryRunsBefore);
      assert.ok(dryRuns.some((call) => call.accountId === STAGING));
      assert.ok(!dryRuns.some((call) => call.accountId === DEV && call.region === "eu-west-1"));
    } finally {
      restore();
      world.kms.revokeGrants(key, slrArn(DEV));
    }
  });

  it("a snapshot key pending deletion is named with the commands that restore it, before any grant is tried", async () => {
    const { world } = sandbox.session;
    const key = world.kms.keys.get(KmsModel.keyArn(BUILD, "eu-west-3", "ami-encryption"));
    assert.ok(key);
    key.state = "PendingDeletion";
    const listsBefore = world.callsTo("kms:ListGrants").length;
    try {
      const { report, mutating } = await doctor();
      assert.equal(mutating, 0);
      const [grant, ...others] = failures(report, PROD, "eu-west-3").filter((check) =>
        check.check.startsWith("grant "),
      );
      assert.deepEqual(others, []);
      assert.match(grant?.detail ?? "", /is PendingDeletion: AMIs encrypted with it cannot launch/);
      // In the key's account and region (a key ARN sent to another region is not found).
      assert.match(
        grant?.fix ?? "",
        new RegExp(
          `^in account ${BUILD}: aws kms cancel-key-deletion --region eu-west-3 --key-id ${key.arn} && aws kms enable-key --region eu-west-3 --key-id ${key.arn}$`,
        ),
      );
      // Nothing asked of a key that cannot be used; the other key's grants still checked.
      assert.ok(
        !world
          .callsTo("kms:ListGrants")
          .slice(listsBefore)
          .some((call) => call.input.KeyId === key.arn),
      );
      assert.deepEqual(failures(report, PROD, "eu-west-1"), []);
    } finally {
      key.state = "Enabled";
    }
  });

  it("an error nobody expected is the ✗ of its step: the target's other checks are still there", async () => {
    const { world } = sandbox.session;
    const fault = world.faults.add({
      service: "iam",
      operation: "SimulatePrincipalPolicy",
      accountId: DEV,
      error: { name: "ServiceFailure", message: "An internal error occurred", httpStatusCode: 500 },
    });
    try {
      const { report } = await doctor();
      const target = report.pipelines
        .flatMap((pipeline) => pipeline.targets)
        .find((candidate) => candidate.accountId === DEV);
      const failed = (target?.checks ?? []).filter((check) => !check.ok);
      assert.ok(failed.length > 0);
      assert.ok(
        failed.every((check) => /internal error/i.test(check.detail)),
        JSON.stringify(failed),
      );
      assert.ok(failed.some((check) => check.check.startsWith("launch ")));
      for (const kind of [
        /^assume role$/,
        /^group /,
        /^AMI$/,
        /^grant /,
        /^template /,
        /^forwarding$/,
      ])
        assert.ok(
          target?.checks.some((check) => kind.test(check.check) && check.ok),
          `${kind} still checked`,
        );
    } finally {
      world.faults.remove(fault);
    }
  });

  it("an untagged group passes where the target stack does not require the tag (RequireManagedTag=false)", async () => {
    const { world } = sandbox.session;
    const dev = {
      id: DEV,
      roleName: "ami-orchestrator-target",
      regions: ["eu-west-1"],
      externalId: "ext-dev-01",
      buildAccounts: [BUILD],
    };
    const relaxed = deployTargetRole(world, dev, { RequireManagedTag: "false" });
    if (relaxed) world.authorizer.setRole(relaxed);
    const untagged = [
      ...[...world.autoScaling.groups.values()].filter((group) => group.accountId === DEV),
      ...[...world.ec2.templates.values()].filter((template) => template.accountId === DEV),
    ];
    for (const resource of untagged) delete resource.tags?.["ami-orchestrator:managed"];
    try {
      const { report } = await doctor();
      assert.deepEqual(failures(report, DEV, "eu-west-1"), []);
      const groups = report.pipelines
        .flatMap((pipeline) => pipeline.targets)
        .filter((target) => target.accountId === DEV)
        .flatMap((target) => target.checks.filter((check) => check.check.startsWith("group ")));
      assert.ok(groups.length > 0);
      for (const group of groups)
        assert.match(
          group.detail,
          /not tagged ami-orchestrator:managed=true: this role does not require it/,
        );
    } finally {
      for (const resource of untagged)
        if (resource.tags) resource.tags["ami-orchestrator:managed"] = "true";
      const strict = deployTargetRole(world, dev);
      if (strict) world.authorizer.setRole(strict);
    }
  });

  it("a target stack that predates the simulation: launch permissions ✗ 'could not be checked', update the stack", async () => {
    const { world } = sandbox.session;
    const restore = world.authorizer.withoutPermission(
      `arn:aws:iam::${STAGING}:role/ami-orchestrator-target`,
      "iam:SimulatePrincipalPolicy",
    );
    try {
      const { report } = await doctor();
      const staging = failures(report, STAGING, "eu-west-1");
      assert.ok(staging.length > 0);
      for (const check of staging) {
        assert.match(check.check, /^launch lt-/);
        assert.match(check.detail, /^could not be checked .*iam:SimulatePrincipalPolicy/);
        assert.match(check.fix ?? "", /^update the target stack in 333333333333/);
      }
    } finally {
      restore();
    }
  });

  it("a target stack without TagWhatLaunchTemplatesLaunch: ✗ names the statement and the role, and a real rollout there is refused", async () => {
    const { world, lambda } = sandbox.session;
    const role = `arn:aws:iam::${DEV}:role/ami-orchestrator-target`;
    const restore = world.authorizer.withoutStatement(role, "TagWhatLaunchTemplatesLaunch");
    try {
      const { report } = await doctor();
      const dev = failures(report, DEV, "eu-west-1");
      assert.ok(dev.length > 0);
      for (const check of dev) {
        assert.match(check.check, /^launch lt-/);
        assert.match(
          check.detail,
          new RegExp(
            `${role} may not ec2:CreateTags on arn:aws:ec2:eu-west-1:${DEV}:instance/\\*, arn:aws:ec2:eu-west-1:${DEV}:volume/\\* \\(implicitDeny\\)$`,
          ),
        );
        assert.match(
          check.fix ?? "",
          new RegExp(`^add to ${role} .*"Sid":"TagWhatLaunchTemplatesLaunch"`),
        );
      }

      // The rollout the doctor warned about: Auto Scaling refuses the role's first call that
      // names the template (the pin before an auto-rollback refresh, or the refresh itself), and
      // no refresh starts in dev.
      const refusedBefore = world.authorizer.refusals.length;
      await lambda.deliverNotifications();
      await lambda.drainRolloutQueue({ until: world.clock.now() + 30 * 60_000 });
      const refused = world.authorizer.refusals
        .slice(refusedBefore)
        .filter((refusal) => refusal.caller.includes(`::${DEV}:`));
      assert.ok(refused.length > 0);
      for (const refusal of refused) {
        assert.equal(refusal.action, "ec2:CreateTags");
        assert.match(
          refusal.implicitFor ?? "",
          /^autoscaling:(StartInstanceRefresh|UpdateAutoScalingGroup)$/,
        );
      }
      assert.deepEqual(
        world
          .callsTo("autoscaling:StartInstanceRefresh", { succeeded: true })
          .filter((call) => call.accountId === DEV),
        [],
      );
    } finally {
      restore();
    }
  });

  it("every target region forwards its events to the orchestrator's bus, every function has its enabled rule", async () => {
    const { report } = await doctor();
    const targets = report.pipelines.flatMap((pipeline) => pipeline.targets);
    for (const target of targets) {
      const forwarding = target.checks.filter((check) => check.check === "forwarding");
      assert.equal(forwarding.length, 1, `${target.accountId}/${target.region}`);
      assert.ok(forwarding[0]?.ok, forwarding[0]?.detail);
      assert.match(
        forwarding[0]?.detail ?? "",
        new RegExp(
          `InstanceRefreshForwardingRu.* → arn:aws:events:eu-west-1:${BUILD}:event-bus/default`,
        ),
      );
    }
    assert.deepEqual(
      report.orchestrator
        .filter((check) => check.check.startsWith("rule "))
        .map((check) => [check.check, check.ok]),
      [
        ["rule on-image-state: image state changes", true],
        ["rule on-image-state: pipelines Image Builder disabled", true],
        ["rule watch-rollouts: forwarded instance refreshes", true],
        ["rule watch-rollouts: the poll schedule", true],
        ["rule explain-launch-failure: forwarded failed launches", true],
      ],
    );
    assert.match(renderDoctorReport(report), /\bforwarding\b/);
  });

  it("each planted fault is reported where it is, with its fix, and still nothing changes", async () => {
    const { world } = sandbox.session;
    // prod's account is no longer allowed CreateGrant by the build account's key policies.
    for (const key of world.kms.keys.values()) key.allowedAccounts.delete(PROD);
    // dev's group and its template lose the managed tag.
    for (const group of world.autoScaling.groups.values())
      if (group.accountId === DEV) delete group.tags["ami-orchestrator:managed"];
    for (const template of world.ec2.templates.values())
      if (template.accountId === DEV && template.tags)
        delete template.tags["ami-orchestrator:managed"];

    // staging's role was deployed with another ExternalId.
    const role = deployTargetRole(world, {
      id: STAGING,
      roleName: "ami-orchestrator-target",
      regions: ["eu-west-1"],
      externalId: "someone-elses-id",
      buildAccounts: [BUILD],
    });
    if (role) world.authorizer.setRole(role);

    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    assert.equal(report.ok, false);

    const [assume, ...rest] = failures(report, STAGING, "eu-west-1");
    assert.equal(assume?.check, "assume role");
    assert.match(assume?.fix ?? "", /ExternalId equal to accounts\.staging\.externalId/);
    assert.deepEqual(rest, [], "nothing else is checked where the role cannot be assumed");

    const dev = failures(report, DEV, "eu-west-1");
    const group = dev.find((check) => check.check.startsWith("group "));
    assert.match(
      group?.fix ?? "",
      /create-or-update-tags .*Key=ami-orchestrator:managed,Value=true/,
    );
    const template = dev.find((check) => check.check.startsWith("template "));
    assert.match(
      template?.fix ?? "",
      /aws ec2 create-tags .*Key=ami-orchestrator:managed,Value=true/,
    );

    for (const region of ["eu-west-1", "eu-west-3"]) {
      const grants = failures(report, PROD, region).filter((check) =>
        check.check.startsWith("grant "),
      );
      assert.ok(grants.length > 0, `grant refused in ${region}`);
      for (const grant of grants)
        assert.match(grant.fix ?? "", new RegExp(`arn:aws:iam::${PROD}:root.*kms:CreateGrant`));
    }
    assert.match(renderDoctorReport(report), /✗ some checks failed: \d+ passed, [1-9]\d* failed/);
  });
});

describe("npm run doctor: event forwarding and the orchestrator's rules", () => {
  it("a region whose forwarding stack was never deployed is named, with the command that deploys it", async () => {
    const { world } = sandbox.session;
    for (const rule of world.events.rulesIn(PROD, "eu-west-3"))
      world.events.deleteRule(PROD, "eu-west-3", rule.name);

    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    const forwarding = report.pipelines
      .flatMap((pipeline) => pipeline.targets)
      .flatMap((target) =>
        target.checks
          .filter((check) => check.check === "forwarding")
          .map((check) => ({ where: `${target.accountId}/${target.region}`, ...check })),
      );
    assert.deepEqual(
      forwarding.filter((check) => !check.ok).map((check) => check.where),
      [`${PROD}/eu-west-3`],
    );
    const [notForwarding] = forwarding.filter((check) => !check.ok);
    assert.match(notForwarding?.detail ?? "", /no rule in 222222222222\/eu-west-3 sends events/);
    assert.match(
      notForwarding?.fix ?? "",
      new RegExp(
        `^with account ${PROD}'s credentials: aws cloudformation deploy --stack-name ami-orchestrator-events --region eu-west-3 --template-file templates/target-account-role.yml --capabilities CAPABILITY_NAMED_IAM --parameter-overrides Component=forwarding-only OrchestratorAccountId=${BUILD} OrchestratorRegion=eu-west-1 OrchestratorService=ami-orchestrator OrchestratorStage=sandbox RoleName=ami-orchestrator-target `,
      ),
    );
  });

  it("a disabled forwarding rule and a disabled orchestrator rule: each named, with enable-rule", async () => {
    const { world } = sandbox.session;
    const [forwardingRule] = world.events.rulesIn(DEV, "eu-west-1");
    assert.ok(forwardingRule);
    forwardingRule.state = "DISABLED";
    const [watchRule] = world.events
      .rulesIn(BUILD, "eu-west-1")
      .filter((rule) => rule.name.endsWith("-watch-rollouts-rule-1"));
    assert.ok(watchRule);
    watchRule.state = "DISABLED";

    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    const devForwarding = failures(report, DEV, "eu-west-1").find(
      (check) => check.check === "forwarding",
    );
    assert.equal(
      devForwarding?.fix,
      `aws events enable-rule --region eu-west-1 --name ${forwardingRule.name}`,
    );
    const orchestrator = report.orchestrator.filter((check) => check.check.startsWith("rule "));
    assert.deepEqual(
      orchestrator.filter((check) => !check.ok).map((check) => [check.check, check.fix]),
      [
        [
          "rule watch-rollouts: forwarded instance refreshes",
          "aws events enable-rule --region eu-west-1 --name ami-orchestrator-sandbox-watch-rollouts-rule-1",
        ],
      ],
    );
    assert.match(
      renderDoctorReport(report),
      /✗ rule watch-rollouts: forwarded instance refreshes: .* is DISABLED/,
    );
    forwardingRule.state = "ENABLED";
    watchRule.state = "ENABLED";
  });
});

describe("npm run doctor: the orchestrator's own deployment", () => {
  const SCHEDULE = "ami-orchestrator-sandbox-base-al2023";
  const orchestrator = (report: DoctorReport) =>
    Object.fromEntries(report.orchestrator.map((check) => [check.check, check]));

  it("its schedule, subscriptions, alert emails and Slack parameter are all ✓, first in the report", async () => {
    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    const checks = report.orchestrator.filter((check) => !check.check.startsWith("rule "));
    assert.deepEqual(
      checks.map((check) => [check.check, check.ok]),
      [
        [`schedule ${SCHEDULE}`, true],
        [
          `subscription arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications → on-image-state`,
          true,
        ],
        ["alert email platform@example.com", true],
        ["alert email oncall@example.com", true],
        ["Slack webhook parameter /ami-orchestrator/slack-webhook", true],
      ],
    );
    assert.match(
      orchestrator(report)[`schedule ${SCHEDULE}`]?.detail ?? "",
      /^ENABLED cron\(0 3 \? \* MON \*\) Europe\/Paris → ami-orchestrator-sandbox-start-pipelines$/,
    );
    const rendered = renderDoctorReport(report);
    assert.match(rendered, /^orchestrator\n {2}✓ schedule /);
    // The webhook URL is never read: not in the report, and no GetParameter by the doctor.
    assert.ok(!JSON.stringify(report).includes(sandbox.session.slack.url));
    assert.ok(!rendered.includes(sandbox.session.slack.url));
  });

  it("an alert address that never confirmed is named PendingConfirmation, with how to confirm or resend", async () => {
    const { world } = sandbox.session;
    world.sns.unsubscribe(ALERTS, "oncall@example.com");
    world.sns.subscribe({
      topicArn: ALERTS,
      protocol: "email",
      endpoint: "oncall@example.com",
      owner: BUILD,
    });

    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    const checks = orchestrator(report);
    assert.equal(checks["alert email platform@example.com"]?.ok, true);
    const pending = checks["alert email oncall@example.com"];
    assert.equal(pending?.ok, false);
    assert.match(
      pending?.detail ?? "",
      /^PendingConfirmation: oncall@example.com receives no alert/,
    );
    assert.equal(
      pending?.fix,
      `confirm the email "AWS Notification - Subscription Confirmation" sent to oncall@example.com (check the spam folder); to send a new one: aws sns subscribe --region eu-west-1 --topic-arn ${ALERTS} --protocol email --notification-endpoint oncall@example.com`,
    );
    assert.match(
      renderDoctorReport(report),
      /✗ alert email oncall@example.com: PendingConfirmation/,
    );
    world.sns.confirm(ALERTS, "oncall@example.com");
  });

  it("a schedule disabled by hand is reported, with the update-schedule that restores it as deployed", async () => {
    const schedule = sandbox.session.world.scheduler.find(BUILD, "eu-west-1", SCHEDULE);
    assert.ok(schedule);
    schedule.state = "DISABLED";

    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    const check = orchestrator(report)[`schedule ${SCHEDULE}`];
    assert.equal(check?.ok, false);
    assert.match(check?.detail ?? "", /it is DISABLED, not ENABLED$/);
    assert.match(
      check?.fix ?? "",
      new RegExp(
        `^aws scheduler update-schedule --region eu-west-1 --name ${SCHEDULE} --schedule-expression 'cron\\(0 3 \\? \\* MON \\*\\)' --schedule-expression-timezone Europe/Paris --flexible-time-window Mode=OFF --target '\\{"Arn":"arn:aws:lambda:eu-west-1:${BUILD}:function:ami-orchestrator-sandbox-start-pipelines","RoleArn":"arn:aws:iam::${BUILD}:role/ami-orchestrator-sandbox-SchedulerInvokeRole-\\w+",.* --state ENABLED `,
      ),
    );
    schedule.state = "ENABLED";
  });

  it("a missing Slack parameter is reported with put-parameter, and its value appears nowhere", async () => {
    const { world } = sandbox.session;
    const key = [...world.ssm.parameters.keys()].find((name) =>
      name.endsWith("|/ami-orchestrator/slack-webhook"),
    );
    assert.ok(key);
    const parameter = world.ssm.parameters.get(key);
    assert.ok(parameter);
    world.ssm.parameters.delete(key);
    const reads = world.callsTo("ssm:GetParameter").length;

    const { report, mutating } = await doctor();
    assert.equal(mutating, 0);
    const check = orchestrator(report)["Slack webhook parameter /ami-orchestrator/slack-webhook"];
    assert.equal(check?.ok, false);
    assert.match(
      check?.detail ?? "",
      /no parameter \/ami-orchestrator\/slack-webhook in 999999999999\/eu-west-1/,
    );
    assert.equal(
      check?.fix,
      `aws ssm put-parameter --region eu-west-1 --cli-input-json '{"Name":"/ami-orchestrator/slack-webhook","Type":"SecureString","Value":"<the Slack incoming-webhook URL>"}'`,
    );
    assert.equal(world.callsTo("ssm:GetParameter").length, reads);
    for (const text of [JSON.stringify(report), renderDoctorReport(report)])
      assert.ok(!text.includes(parameter.value), "the webhook URL is in the report");
    world.ssm.parameters.set(key, parameter);
  });
});

describe("the commands", () => {
  const run = (script: string, ...args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", repoPath(script), ...args], {
      cwd: repoPath(""),
      env: { ...process.env, NO_COLOR: "1", ORCHESTRATOR_CONFIG: "" },
      timeout: 60_000,
    });

  it("npm run doctor -- --sandbox --json: the report as JSON, exit 0 when all pass", async () => {
    const { stdout } = await run("scripts/doctor.ts", "--sandbox", "--json");
    const report = JSON.parse(stdout) as DoctorReport;
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.pipelines.map((pipeline) => pipeline.pipeline),
      ["base-al2023", "web-ubuntu2404"],
    );
  });

  it("npm start -- --scenario doctor: each planted fault diagnosed with its fix, nothing changed", async () => {
    const { stdout } = await run("sandbox/demo.ts", "--scenario", "doctor");
    assert.match(stdout, /✓ all checks passed: \d+ passed, 0 failed/);
    assert.match(stdout, /fix: in account 111111111111: aws autoscaling create-or-update-tags /);
    assert.match(
      stdout,
      /fix: in account 111111111111: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com --custom-suffix dev/,
    );
    assert.match(
      stdout,
      /fix: add to the key policy of arn:aws:kms:eu-west-1:999999999999:key\/[\w-]+ .*"Principal":\{"AWS":"arn:aws:iam::222222222222:root"\}/,
    );
    assert.match(stdout, /✗ some checks failed: \d+ passed, [1-9]\d* failed/);
    assert.match(
      stdout,
      /fix: with account 222222222222's credentials: aws cloudformation deploy --stack-name ami-orchestrator-events --region eu-west-3 .*Component=forwarding-only/,
    );
    assert.match(
      stdout,
      /✗ alert email platform-team@example.com: PendingConfirmation.*\n {6}fix: confirm the email "AWS Notification - Subscription Confirmation" sent to platform-team@example.com \(check the spam folder\); to send a new one: aws sns subscribe --region eu-west-1 --topic-arn \S+ --protocol email --notification-endpoint platform-team@example.com/,
    );
    // The last account: its stack lacks TagWhatLaunchTemplatesLaunch, a group on a launch
    // configuration is tagged for the pipeline, its default service-linked role is gone.
    assert.match(
      stdout,
      /✗ launch lt-\w+: .*arn:aws:iam::222222222222:role\/ami-orchestrator-target may not ec2:CreateTags/,
    );
    assert.match(
      stdout,
      /fix: add to arn:aws:iam::222222222222:role\/ami-orchestrator-target .*"Sid":"TagWhatLaunchTemplatesLaunch"/,
    );
    assert.match(
      stdout,
      /✗ group base-al2023-legacy: uses launch configuration base-al2023-legacy-lc.*\n\s+fix: use a launch template/,
    );
    assert.match(
      stdout,
      /✗ service-linked role AWSServiceRoleForAutoScaling: .*\n\s+fix: in account 222222222222: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com\n/,
    );
    assert.match(stdout, /mutating calls made by the doctor: 0/);
  });
});
