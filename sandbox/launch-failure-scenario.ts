import type { OrchestratorConfig } from "../lib/config/schema.ts";
import type { ExplainOutcome } from "../lib/launch-failures/explain.ts";
import { fakeContext } from "./lambda.ts";
import { startSandbox } from "./session.ts";

/**
 * `npm start -- --scenario launch-failure`: after a rollout, someone revokes the grant of a
 * group's service-linked role on the AMI's key; a month later the group scales out and every
 * launch fails with `Client.InternalError`. explain-launch-failure follows the chain to the
 * missing grant, recreates it (the group is the config's), alerts once, and the next launch
 * succeeds. Returns the exit status: 0 when the story went that way.
 */
export const launchFailureScenario = async (config: OrchestratorConfig): Promise<number> => {
  const pipeline = config.pipelines.find((candidate) => candidate.rollout);
  if (!pipeline) {
    console.log("the config has no pipeline with a rollout: nothing to show");
    return 1;
  }
  const session = await startSandbox(config, { start: "2026-11-23T01:59:00Z" });
  try {
    const { world, lambda, handlers } = session;
    await handlers.startPipelines(
      { pipeline: pipeline.name, scheduledTime: "2026-11-23T02:00:00Z" },
      fakeContext("start-pipelines"),
    );
    world.clock.advance(45 * 60_000);
    await lambda.run(world.clock.now() + 6 * 3600_000);
    const withGrant = [...world.autoScaling.groups.values()].flatMap((group) => {
      const keys = [...world.kms.keys.keys()].filter((key) =>
        world.kms
          .grantsOn(key)
          .some((grant) => grant.granteePrincipal === group.serviceLinkedRoleArn),
      );
      return keys.length > 0 && !group.launchConfigurationName
        ? [{ group, keyArn: keys[0] as string }]
        : [];
    });
    const target = withGrant[0];
    if (!target) {
      console.log("the rollout created no grant: nothing to revoke");
      return 1;
    }
    const { group, keyArn } = target;
    console.log(
      `${world.clock.iso()}  rollout of ${pipeline.name} done; group ${group.name} (${group.accountId} ${group.region}) launches with grants for ${group.serviceLinkedRoleArn.split("/").at(-1)}`,
    );
    const revoked = world.kms.revokeGrants(keyArn, group.serviceLinkedRoleArn);
    console.log(`${world.clock.iso()}  someone revokes ${revoked} grant(s) on ${keyArn}`);
    world.clock.advance(30 * 24 * 3600_000);
    for (let n = 0; n < 3; n += 1) {
      const activity = world.autoScaling.scaleOut(group);
      console.log(
        `${world.clock.iso()}  scale-out of ${group.name}: ${activity.statusCode} (${activity.statusMessage ?? "launched"})`,
      );
      world.clock.advance(10_000);
    }
    const deliveries = await lambda.deliverLaunchEvents();
    for (const [index, delivery] of deliveries.entries()) {
      const result = delivery.result as ExplainOutcome | undefined;
      if (delivery.error || !result || result.outcome === "unconfigured-account") {
        console.log(
          `  explain-launch-failure #${index + 1}: ${delivery.error?.message ?? "not diagnosed"}`,
        );
        continue;
      }
      if (result.outcome === "duplicate") {
        console.log(
          `  explain-launch-failure #${index + 1}: same episode (${result.failuresInEpisode} failures), no new alert`,
        );
        continue;
      }
      console.log(`  explain-launch-failure #${index + 1}: ${result.diagnosis.cause}`);
      for (const link of result.diagnosis.chain) console.log(`    ✓ ${link}`);
      console.log(`    ✗ ${result.diagnosis.explanation}`);
      console.log(`    done: ${result.action}`);
    }
    const before = session.slack.messages.length;
    world.clock.advance(10 * 60_000);
    await lambda.run(world.clock.now() + 60_000);
    console.log(
      `${world.clock.iso()}  alerts sent to Slack: ${session.slack.messages.length - before} (email: the same, through SNS)`,
    );
    const after = world.autoScaling.scaleOut(group);
    console.log(
      `${world.clock.iso()}  scale-out of ${group.name}: ${after.statusCode} (${after.statusMessage ?? after.description})`,
    );
    const grants = world.kms
      .grantsOn(keyArn)
      .filter((grant) => grant.granteePrincipal === group.serviceLinkedRoleArn);
    console.log(
      `  grants for the service-linked role on the key: ${grants.length} (${grants[0]?.name ?? "none"})`,
    );
    return after.statusCode === "Successful" && grants.length === 1 ? 0 : 1;
  } finally {
    await session.close();
  }
};
