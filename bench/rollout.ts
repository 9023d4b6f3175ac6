/**
 * One whole rollout through the sandbox, measured: `npm run bench -- --targets <n> --json`.
 * The real flow, as the e2e tests drive it: start-pipelines starts the build, Image Builder makes
 * the image AVAILABLE and distributes one AMI per target, SNS delivers the notification to
 * on-image-state, which queues the first wave; roll-out-target consumes the queue, the forwarded
 * instance-refresh events and the stack's 5-minute poll reach watch-rollouts, which advances the
 * waves until the rollout ends. Handlers read their config once per process: one rollout per
 * process.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installDynamoMeter, largestItemInTable } from "./dynamo-meter.ts";

export interface RolloutBenchOptions {
  readonly targets: number;
  /** Waves the accounts are split into, in order (default 1). */
  readonly waves?: number;
  /** Stop (and report `finished: false`) after this much wall time. */
  readonly maxWallMinutes?: number;
}

/** What one rollout cost. Field meanings: bench/results.md, "Method". */
export interface RolloutBenchResult {
  targets: number;
  groups: number;
  waves: number;
  /** The rollout's final status, or `not started` when no rollout record exists. */
  status: string;
  /** Whether the rollout ended (succeeded or failed) before the wall-time cap. */
  finished: boolean;
  /** Why the run stopped before the rollout ended. */
  stopped?: string;
  awsCalls: number;
  awsCallsPerTarget: number;
  dynamoItemsRead: number;
  dynamoItemsReadPerTarget: number;
  dynamoItemsWritten: number;
  /** Per function, the most one invocation read and the calls it made (bench/dynamo-meter.ts). */
  heaviestInvocation: Record<string, { itemsRead: number; steps: number }>;
  largestItemBytes: number;
  throttled: number;
  failedForGood: number;
  /** Invocations that failed for good (async retries exhausted) and dead-lettered messages. */
  failedEvents: number;
  deadLettered: number;
  simulatedMinutes: number;
  setupMs: number;
  cpuMs: number;
  wallMs: number;
  peakRssMb: number;
}

/** The error names AWS and the SDK treat as throttling (smithy THROTTLING_ERROR_CODES). */
const THROTTLING_ERRORS = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "SlowDown",
  "EC2ThrottledException",
  "PriorRequestNotComplete",
  "BandwidthLimitExceeded",
  "LimitExceededException",
]);

/** Regions targets spread over; two up to 3,072 targets, more beyond (see benchConfig). */
const REGIONS = [
  "eu-west-1",
  "eu-west-3",
  "eu-central-1",
  "eu-north-1",
  "us-east-1",
  "us-east-2",
  "us-west-2",
  "ap-southeast-2",
] as const;
const GROUPS = ["web", "api", "worker"] as const;
const TOPIC = "arn:aws:sns:eu-west-1:999999999999:imagebuilder-notifications";
const PIPELINE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/golden";
/**
 * One distribution copies to at most 1,536 accounts (`targetAccountIds`, AccountList in the
 * Image Builder API model): a larger fleet spreads over more regions, as a real one would.
 */
const ACCOUNTS_PER_REGION = 1536;

/**
 * A config with `targets` targets: the accounts in two regions (more when a region would need
 * more than 1,536 accounts), the last account in fewer when `targets` does not divide evenly,
 * 3 groups per target, the accounts split into `waves` waves in order.
 */
export const benchConfig = (targets: number, waves = 1): string => {
  const regions = Math.min(REGIONS.length, Math.max(2, Math.ceil(targets / ACCOUNTS_PER_REGION)));
  const accounts = Math.ceil(targets / regions);
  const aliases = Array.from({ length: accounts }, (_, index) => `a${index}`);
  const perWave = Math.ceil(accounts / waves);
  const waveList = Array.from({ length: waves }, (_, index) =>
    aliases.slice(index * perWave, (index + 1) * perWave),
  ).filter((wave) => wave.length > 0);
  const lastRegions = targets - (accounts - 1) * regions;
  const regionsOf = (index: number) =>
    `[${REGIONS.slice(0, index === accounts - 1 ? lastRegions : regions).join(", ")}]`;
  return `
accounts:
${aliases.map((alias, index) => `  ${alias}: { id: "${String(100000000000 + index * 7)}", externalId: ext-${index}, regions: ${regionsOf(index)} }`).join("\n")}
pipelines:
  - name: golden
    arn: ${PIPELINE}
    notificationTopicArn: ${TOPIC}
    rollout:
      waves:
${waveList.map((wave, index) => `        - { name: w${index}, accounts: [${wave.join(", ")}] }`).join("\n")}
      autoScalingGroups: { names: [${GROUPS.join(", ")}] }
      grantPropagationSeconds: 60
`;
};

/** Runs one rollout to `targets` targets and measures it. Once per process. */
export const benchRollout = async (options: RolloutBenchOptions): Promise<RolloutBenchResult> => {
  const began = performance.now();
  const waves = Math.max(1, Math.min(options.waves ?? 1, Math.ceil(options.targets / 2)));
  const yaml = benchConfig(options.targets, waves);
  const dir = mkdtempSync(join(tmpdir(), "ami-orchestrator-bench-"));
  writeFileSync(join(dir, "orchestrator.yml"), yaml);
  process.env.ORCHESTRATOR_CONFIG = join(dir, "orchestrator.yml");
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  process.env.POWERTOOLS_METRICS_DISABLED = "true";

  const { parseConfig } = await import("../lib/config/load.ts");
  const { getRollout } = await import("../lib/rollout/store.ts");
  const { startSandbox } = await import("../sandbox/session.ts");
  const { fakeContext } = await import("../sandbox/lambda.ts");
  const start = "2026-11-23T01:00:00Z";
  // AWS's documented request rates, as the issue asks: a fleet must finish under them.
  const session = await startSandbox(parseConfig(yaml, "bench.yml"), {
    start,
    throttling: "aws-documented",
  });
  const { world, lambda, dynamo } = session;
  // Every size also gets Image Builder's EventBridge state changes, as a deployment does (the
  // SNS topic is optional; the EventBridge rule is always there): a 10,000-AMI image's SNS message
  // is past what SNS carries, and the EventBridge event is how such a fleet learns of it.
  lambda.imageStateEvents = true;
  const metering = installDynamoMeter();
  try {
    const setupMs = performance.now() - began;
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const deadline = wallBefore + (options.maxWallMinutes ?? Number.POSITIVE_INFINITY) * 60_000;

    await session.handlers.startPipelines(
      { pipeline: "golden", scheduledTime: start },
      fakeContext("start-pipelines"),
    );
    const image = world.imageBuilder.imagesOf(PIPELINE).at(-1);
    if (!image) throw new Error("start-pipelines started no build");
    // Everything due is delivered, in simulated half hours, until the rollout ends. A day of
    // simulated time is far more than the rollout needs: past it, something is stuck.
    const stopAt = world.clock.now() + 24 * 60 * 60_000;
    let status = "not started";
    let finished = false;
    let stopped: string | undefined;
    while (world.clock.now() < stopAt && performance.now() < deadline) {
      await lambda.run(world.clock.now() + 30 * 60_000, {
        // serverless.yml's event source mapping: batches of 10, up to 20 at once.
        rolloutQueue: { batchSize: 10, concurrency: 20 },
      });
      status = (await getRollout(dynamo.db, dynamo.table, image.arn))?.status ?? "not started";
      if (status !== "in-progress" && status !== "not started") {
        finished = true;
        break;
      }
      // The intake refused the image for good: nothing will ever start.
      const refused = lambda.failedEvents[0];
      if (status === "not started" && refused) {
        stopped = `${refused.functionName} failed: ${refused.error.message.slice(0, 200)}`;
        break;
      }
    }
    stopped ??= performance.now() >= deadline ? "wall-time cap" : "a simulated day went by";
    const wallMs = performance.now() - wallBefore;
    const cpu = process.cpuUsage(cpuBefore);

    // A group rolled out when it runs its target's new AMI (set when its refresh succeeds).
    const amiOf = new Map(image.amis.map((ami) => [`${ami.accountId}|${ami.region}`, ami.image]));
    const groups = [...world.autoScaling.groups.values()];
    const notRolled = groups.filter(
      (group) => group.runningImageId !== amiOf.get(`${group.accountId}|${group.region}`),
    ).length;
    const awsCalls = world.calls.length;
    const { meter } = metering;
    return {
      targets: options.targets,
      groups: groups.length,
      waves,
      status,
      finished,
      ...(finished ? {} : { stopped }),
      awsCalls,
      awsCallsPerTarget: awsCalls / options.targets,
      dynamoItemsRead: meter.itemsRead,
      dynamoItemsReadPerTarget: meter.itemsRead / options.targets,
      dynamoItemsWritten: meter.itemsWritten,
      heaviestInvocation: meter.heaviest,
      largestItemBytes: Math.max(
        meter.largestPutBytes,
        await largestItemInTable(dynamo.client, dynamo.table),
      ),
      throttled:
        world.calls.filter((call) => call.error && THROTTLING_ERRORS.has(call.error)).length +
        meter.throttled,
      failedForGood: notRolled,
      failedEvents: lambda.failedEvents.length,
      deadLettered: world.queues.deadLetter.messages.length,
      simulatedMinutes: Math.round((world.clock.now() - Date.parse(start)) / 60_000),
      setupMs: Math.round(setupMs),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      wallMs: Math.round(wallMs),
      // maxRSS is in kilobytes (Node docs, process.resourceUsage()).
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    metering.uninstall();
    await session.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
