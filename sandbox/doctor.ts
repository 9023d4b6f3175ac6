import type { OrchestratorConfig } from "../lib/config/schema.ts";
import type { DoctorReport } from "../lib/doctor/checks.ts";
import { fakeContext } from "./lambda.ts";
import { AUTO_SCALING_SLR, slrArn } from "./model/iam.ts";
import { startSandbox } from "./session.ts";
import { ALERTS_TOPIC, deployTargetRole } from "./world-from-config.ts";

/** SNS deletes it after 48 hours unconfirmed (SNS developer guide): planted as still pending. */
const UNCONFIRMED_EMAIL = "the last alert address never confirmed its email subscription";

/** The faults `npm start -- --scenario doctor` plants, each a mistake seen in real set-ups. */
export const PLANTED_FAULTS = [
  "the key policies no longer admit the last account (its statement with kms:DescribeKey, kms:CreateGrant and kms:ListGrants was removed)",
  "the first account's groups lost the ami-orchestrator:managed tag",
  "the first account's custom-suffix Auto Scaling service-linked role was deleted",
  "a third account's role was deployed with another ExternalId",
  "an account never deployed the forwarding stack in its last region",
  "the last account's target stack lacks its TagWhatLaunchTemplatesLaunch statement, and its templates tag what they launch",
  "a group on a launch configuration is tagged for the first tag-selected pipeline in the last account",
  "the last account's default Auto Scaling service-linked role was deleted",
  UNCONFIRMED_EMAIL,
] as const;

export interface SandboxDoctorRun {
  readonly report: DoctorReport;
  /** Mutating calls the doctor made: always 0. */
  readonly mutatingCalls: number;
}

/**
 * `npm run doctor -- --sandbox`: a world built from the config, one image built per pipeline (not
 * rolled out: the doctor runs before the first rollout); `doctor()` runs the doctor as the
 * deployed function runs it, with its role; `plantFaults()` plants the scenario's faults. One
 * sandbox per process (it installs itself in the SDK clients): close it when done.
 */
export const sandboxDoctorSession = async (config: OrchestratorConfig) => {
  const aliases = Object.keys(config.accounts);
  const first = aliases[0];
  const session = await startSandbox(config, {
    start: "2026-11-23T01:59:00Z",
    customSlrAccounts: first ? [first] : [],
  });
  const { world, handlers } = session;
  for (const pipeline of config.pipelines)
    await handlers.startPipelines(
      { pipeline: pipeline.name, scheduledTime: "2026-11-23T02:00:00Z" },
      fakeContext("start-pipelines"),
    );
  world.clock.advance(45 * 60_000);

  const plantFaults = (): string[] => {
    const planted: string[] = [];
    const ids = aliases.map((alias) => config.accounts[alias]?.id ?? "");
    const [firstId = "", last = ""] = [ids[0], ids.at(-1)];
    for (const key of world.kms.keys.values()) key.allowedAccounts.delete(last);
    for (const group of world.autoScaling.groups.values())
      if (group.accountId === firstId) delete group.tags["ami-orchestrator:managed"];
    const roles = world.iam.roles.get(firstId);
    for (const role of roles ?? []) if (role.includes("_")) roles?.delete(role);
    planted.push(...PLANTED_FAULTS.slice(0, 3));
    const third = aliases.length > 2 ? aliases[1] : undefined;
    const account = third ? config.accounts[third] : undefined;
    if (account) {
      const role = deployTargetRole(world, {
        ...account,
        externalId: "someone-elses-id",
        buildAccounts: [world.orchestratorAccountId],
      });
      if (role) world.authorizer.setRole(role);
      planted.push(PLANTED_FAULTS[3]);
    }
    // A region whose forwarding-only stack was never deployed: its events never reach the bus.
    const spread = Object.values(config.accounts).find((account) => account.regions.length > 1);
    const region = spread?.regions.at(-1);
    if (spread && region) {
      for (const rule of world.events.rulesIn(spread.id, region))
        world.events.deleteRule(spread.id, region, rule.name);
      planted.push(PLANTED_FAULTS[4]);
    }
    const lastAccount = Object.values(config.accounts).at(-1);
    if (lastAccount) {
      // A target stack deployed from a template older than the statement: Auto Scaling refuses
      // any refresh or update that names a template with tag specifications (they all have some).
      world.authorizer.withoutStatement(
        `arn:aws:iam::${last}:role/${lastAccount.roleName}`,
        "TagWhatLaunchTemplatesLaunch",
      );
      planted.push(PLANTED_FAULTS[5]);
      const tagged = config.pipelines.find((pipeline) => pipeline.rollout?.autoScalingGroups.tags);
      const tags = tagged?.rollout?.autoScalingGroups.tags;
      const region = lastAccount.regions[0];
      if (tagged && tags && region) {
        world.autoScaling.addGroup({
          name: `${tagged.name}-legacy`,
          accountId: last,
          region,
          tags: { ...tags, "ami-orchestrator:managed": "true" },
          serviceLinkedRoleArn: slrArn(last),
          desiredCapacity: 2,
          launchConfigurationName: `${tagged.name}-legacy-lc`,
        });
        planted.push(PLANTED_FAULTS[6]);
      }
      world.iam.roles.get(last)?.delete(AUTO_SCALING_SLR);
      planted.push(PLANTED_FAULTS[7]);
    }
    // The confirmation email went unanswered: the subscription is still PendingConfirmation.
    const address = config.notifications.email.at(-1);
    if (address) {
      const topicArn = ALERTS_TOPIC(world.orchestratorAccountId, world.orchestratorRegion);
      world.sns.unsubscribe(topicArn, address);
      world.sns.subscribe({
        topicArn,
        protocol: "email",
        endpoint: address,
        owner: world.orchestratorAccountId,
      });
      planted.push(UNCONFIRMED_EMAIL);
    }
    return planted;
  };

  const doctor = async (pipeline?: string): Promise<SandboxDoctorRun> => {
    const before = world.mutatingCalls().length;
    const report = (await handlers.watchRollouts(
      { action: "doctor", ...(pipeline ? { pipeline } : {}) },
      fakeContext("watch-rollouts"),
    )) as DoctorReport;
    return { report, mutatingCalls: world.mutatingCalls().length - before };
  };
  return { session, doctor, plantFaults, close: () => session.close() };
};
