/**
 * Operator commands for rollouts.
 *
 *   npm run rollout -- status [<pipeline>...] [--limit <n> | --all] [--failed] [--mismatches]
 *                                                      latest rollouts, per target and group, the
 *                                                      first 50 targets each (--limit, --all),
 *                                                      or only the failed ones (--failed);
 *                                                      --mismatches lists every target without an
 *                                                      AMI and AMI without a target, not a sample
 *   npm run rollout -- approve <pipeline> <wave> [--rollout <name>]
 *                                                      approve a manual-approval wave of the
 *                                                      pipeline's newest image, or of the rollout
 *                                                      named as status shows it (or its image ARN)
 *   npm run rollout -- rollback <pipeline>             roll the latest rollout back
 *
 * `status` reads the state table directly (TABLE_NAME, or --table; the SDK's usual credentials,
 * region and AWS_ENDPOINT_URL_DYNAMODB). `approve` and `rollback` invoke the deployed
 * watch-rollouts function (--function, or ami-orchestrator-<--stage>-watch-rollouts), which holds
 * the cross-account permissions; the same payload works with `aws lambda invoke`.
 */
import { parseArgs } from "node:util";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { clientConfig, currentRegion } from "../lib/aws/clients.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { configPath, loadConfig } from "../lib/config/load.ts";
import { mismatchLines, recentRolloutRecords, rolloutStatusLines } from "../lib/rollout/status.ts";

const USAGE = `usage:
  npm run rollout -- status [<pipeline>...] [--table <name>] [--limit <n> | --all] [--failed] [--mismatches]
  npm run rollout -- approve <pipeline> <wave> [--rollout <name>] [--stage <stage> | --function <name>]
  npm run rollout -- rollback <pipeline> [--stage <stage> | --function <name>]`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    table: { type: "string" },
    stage: { type: "string", default: "dev" },
    function: { type: "string" },
    rollout: { type: "string" },
    mismatches: { type: "boolean", default: false },
    limit: { type: "string", default: "50" },
    all: { type: "boolean", default: false },
    failed: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
const [command, ...args] = positionals;
const config = loadConfig(configPath());
const fail = (message: string): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
};

const invokeWatcher = async (payload: Record<string, unknown>) => {
  const functionName = values.function ?? `ami-orchestrator-${values.stage}-watch-rollouts`;
  const lambda = new LambdaClient(clientConfig({ region: currentRegion() }));
  const response = await lambda.send(
    new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }),
  );
  const text = new TextDecoder().decode(response.Payload);
  if (response.FunctionError) fail(`${functionName} failed: ${text}`);
  console.log(JSON.stringify(JSON.parse(text || "null"), null, 2));
};

const requestedBy = process.env.USER ?? "operator";
if (values.help || !command) {
  console.log(USAGE);
} else if (command === "status") {
  const tableName = values.table ?? process.env.TABLE_NAME ?? fail("set TABLE_NAME or --table");
  const pipelines = args.length > 0 ? args : config.pipelines.map((pipeline) => pipeline.name);
  const db = createDocumentClient(currentRegion());
  const records = await recentRolloutRecords(db, tableName, { pipelines });
  if (records.length === 0) console.log("no rollouts yet");
  const limit = values.all ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    fail(`--limit must be a positive integer, got "${values.limit}"`);
  for (const record of records) {
    const waves = config.pipelines.find((p) => p.name === record.pipeline)?.rollout?.waves ?? [];
    // Page by page: a 10,000-target rollout is never held in memory at once.
    for await (const line of rolloutStatusLines(
      db,
      tableName,
      record,
      waves.map((wave) => wave.name),
      { ...(limit === undefined ? {} : { limit }), failedOnly: values.failed },
    ))
      console.log(line);
    console.log("");
    if (values.mismatches) {
      for await (const line of mismatchLines(db, tableName, record)) console.log(line);
    }
  }
} else if (command === "approve") {
  const [pipeline, wave] = args;
  if (!pipeline || !wave) fail("approve needs a pipeline and a wave");
  await invokeWatcher({
    action: "approve",
    pipeline,
    wave,
    ...(values.rollout ? { rolloutId: values.rollout } : {}),
    approvedBy: requestedBy,
  });
} else if (command === "rollback") {
  const [pipeline] = args;
  if (!pipeline) fail("rollback needs a pipeline");
  await invokeWatcher({ action: "rollback", pipeline, requestedBy });
} else {
  fail(`unknown command "${command}"`);
}
