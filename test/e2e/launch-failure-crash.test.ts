import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import { onePipelineConfig, rolledOutProdApp } from "../helpers/sandbox-scenario.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";
import { PROD_ACCOUNT } from "../helpers/target-account.ts";

const PROD = PROD_ACCOUNT;

const CONFIG = onePipelineConfig({
  account: "prod",
  sections: `notifications:
  slack: { webhookUrlParameter: /ami-orchestrator/slack-webhook }
`,
  rollout: ["instanceRefresh: { minHealthyPercentage: 90, instanceWarmup: 60 }"],
  grantPropagationSeconds: 120,
});

type Alert = { kind: string; cause: string; group: string; since: string; action: string };

/**
 * explain-launch-failure killed right after each of its steps in turn (the AWS call or DynamoDB
 * write took effect, the code never saw the answer), then retried by Lambda's asynchronous
 * invocation: whatever the crash point, one episode, one grant, and one alert reaching Slack and
 * email, which says what was healed.
 */
describe("a crash after any step of explain-launch-failure (sandbox)", () => {
  let app: SandboxGroup;
  let keyArn: string;

  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:59:00Z" }, async (session) => {
    ({ app, keyArn } = await rolledOutProdApp(session));
  });

  it("a revoked grant: whatever step the first attempt dies after, the retry heals once and alerts once", async () => {
    const { world, lambda, slack } = sandbox.session;
    const slr = app.serviceLinkedRoleArn;
    /** The step each crash point follows: an AWS call, or a DynamoDB call (not in world.calls). */
    const stepAfter: string[] = [];
    const failures: string[] = [];
    let awsCallsBefore = 0;
    for (let step = 1; step < 60; step += 1) {
      // A new episode each time: the grant lost again, the last episode's window long gone.
      world.kms.revokeGrants(keyArn, slr);
      world.clock.advance(7 * 3600_000);
      assert.equal(world.autoScaling.scaleOut(app).statusCode, "Failed");
      const queued = world.queues.alerts.messages.length;
      const calls = world.calls.length;
      const posts = slack.messages.length;
      const emails = world.callsTo("sns:Publish", { succeeded: true }).length;
      const startedAt = world.clock.now();

      lambda.crashAfterStep("explain-launch-failure", step);
      const deliveries = await lambda.deliverLaunchEvents();
      const crashed = !lambda.crashPending;
      lambda.cancelCrash();

      // The crashed attempt's AWS calls (the retry comes a simulated minute later).
      const crashedCalls = world.calls.slice(calls).filter((call) => call.at < startedAt + 60_000);
      const last = crashedCalls.at(-1);
      const label =
        crashed && crashedCalls.length > awsCallsBefore && last
          ? `${last.service}:${last.operation}`
          : "dynamodb";
      awsCallsBefore = crashedCalls.length;
      const where = `crash after step ${step} (${label})`;

      try {
        // Lambda's retry (invokeAsync's answer is the last attempt) succeeded.
        assert.deepEqual(
          deliveries.map((delivery) => delivery.error?.message ?? "ok"),
          ["ok"],
          where,
        );
        const alerts = world.queues.alerts.messages
          .slice(queued)
          .map((message) => JSON.parse(message.body) as Alert)
          .filter((alert) => alert.kind === "launch-failed");
        // At least once: a crash right after SendMessage re-queues it, the very same alert (the
        // alerts function delivers one per key).
        assert.equal(new Set(alerts.map((alert) => JSON.stringify(alert))).size, 1, where);
        assert.equal(alerts[0]?.cause, "missing-grant", where);
        // No second episode: the retry's "chain intact" (the grant is back) joined the healed one.
        const { Item: intact } = await sandbox.session.dynamo.db.send(
          new GetCommand({
            TableName: sandbox.session.dynamo.table,
            Key: { pk: `launch-failure#${PROD}#eu-west-1#${app.name}`, sk: "chain-intact" },
          }),
        );
        assert.ok(
          !intact || intact.expiration * 1000 <= startedAt,
          `${where}: a chain-intact episode`,
        );
        assert.match(alerts[0]?.action ?? "", /^created grant /, where);
        assert.equal(
          world.kms.grantsOn(keyArn).filter((grant) => grant.granteePrincipal === slr).length,
          1,
          where,
        );

        await lambda.drainAlertsQueue();
        assert.equal(slack.messages.length - posts, 1, `${where}: Slack posts`);
        assert.equal(
          world.callsTo("sns:Publish", { succeeded: true }).length - emails,
          1,
          `${where}: emails`,
        );
      } catch (error) {
        // Every crash point is tried; the ones that break the promise are listed together.
        failures.push(`${where}: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
        await lambda.drainAlertsQueue();
      }
      if (!crashed) break;
      stepAfter.push(label);
    }
    assert.deepEqual(failures, []);
    // The sweep went through the two crash points the issue names.
    assert.ok(stepAfter.includes("kms:CreateGrant"), stepAfter.join(", "));
    assert.ok(stepAfter.includes("sqs:SendMessage"), stepAfter.join(", "));
  });
});
