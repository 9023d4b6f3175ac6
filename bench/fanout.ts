/**
 * One fan-out measurement, in its own process (handlers load their config once per container):
 *   tsx bench/fanout.ts <targets> <parallel|sequential> <latencyMs>
 * Rolls one AVAILABLE image out to <targets> targets × 3 groups in the sandbox, every AWS call
 * delayed by <latencyMs> of real time, and prints JSON: wall time of the rollout (from the first
 * roll-out-target invocation until every target's refreshes are started), AWS calls per target
 * and per group, and the calls a duplicate delivery makes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [targetsArg = "1", mode = "parallel", latencyArg = "50"] = process.argv.slice(2);
const targets = Number(targetsArg);
const accounts = Math.ceil(targets / 2);
const regionsOf = (index: number) =>
  targets % 2 === 1 && index === accounts - 1 ? "[eu-west-1]" : "[eu-west-1, eu-west-3]";
const yaml = `
accounts:
${Array.from({ length: accounts }, (_, index) => `  a${index}: { id: "${String(100000000000 + index * 7)}", externalId: ext-${index}, regions: ${regionsOf(index)} }`).join("\n")}
pipelines:
  - name: golden
    arn: arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/golden
    # on-image-state believes a notification only from the pipeline's own topic.
    notificationTopicArn: arn:aws:sns:eu-west-1:999999999999:imagebuilder-notifications
    rollout:
      waves: [{ name: all, accounts: [${Array.from({ length: accounts }, (_, index) => `a${index}`).join(", ")}] }]
      autoScalingGroups: { names: [web, api, worker] }
      grantPropagationSeconds: 60
`;
const dir = mkdtempSync(join(tmpdir(), "ami-orchestrator-bench-"));
writeFileSync(join(dir, "orchestrator.yml"), yaml);
process.env.ORCHESTRATOR_CONFIG = join(dir, "orchestrator.yml");
process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

const { parseConfig } = await import("../lib/config/load.ts");
const { startSandbox } = await import("../sandbox/session.ts");
const { fakeContext } = await import("../sandbox/lambda.ts");
const session = await startSandbox(parseConfig(yaml, "bench.yml"), {
  start: "2026-11-23T01:00:00Z",
});
const { world, lambda, handlers } = session;

await handlers.startPipelines(
  { pipeline: "golden", scheduledTime: "2026-11-23T01:00:00Z" },
  fakeContext("start-pipelines"),
);
world.clock.advance(40 * 60_000);
await lambda.deliverNotifications();

const rolloutCalls = world.calls.length;
world.latencyMs = Number(latencyArg);
const started = performance.now();
await lambda.drainRolloutQueue({
  until: world.clock.now() + 30 * 60_000,
  ...(mode === "sequential"
    ? { batchSize: 1, concurrency: 1 }
    : { batchSize: 10, concurrency: 20 }),
});
const wallMs = performance.now() - started;
world.latencyMs = 0;
const calls = world.calls.slice(rolloutCalls);
const byOperation: Record<string, number> = {};
for (const call of calls) {
  if (call.error) continue;
  const key = `${call.service}:${call.operation}`;
  byOperation[key] = (byOperation[key] ?? 0) + 1;
}

// A duplicate delivery of a finished target: how many calls, how many mutating.
const message = world.queues.rollout.messages.length;
const before = world.calls.length;
const [firstTarget] = JSON.parse(
  JSON.stringify(
    lambda.invocations
      .filter((i) => i.functionName === "roll-out-target")
      .map((i) => (i.event as { Records: Array<{ body: string }> }).Records[0]?.body),
  ),
);
world.sqs.operations.SendMessage({
  service: "sqs",
  operation: "SendMessage",
  accountId: world.orchestratorAccountId,
  region: world.orchestratorRegion,
  input: { QueueUrl: world.queues.rollout.url, MessageBody: firstTarget },
});
await lambda.drainRolloutQueue();
const duplicateCalls = world.calls.slice(before);

process.stdout.write(
  `${JSON.stringify({
    targets,
    mode,
    wallMs,
    refreshes: world.autoScaling.refreshes.length,
    leftInQueue: message,
    calls: calls.length,
    byOperation,
    duplicate: {
      calls: duplicateCalls.length,
      mutating: duplicateCalls.filter((call) => call.mutating).length,
    },
  })}\n`,
);
await session.close();
rmSync(dir, { recursive: true, force: true });
