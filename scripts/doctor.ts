/**
 * `npm run doctor`: would a rollout succeed if an image arrived now? Read-only.
 *
 *   npm run doctor -- --stage <stage> [--pipeline <name>] [--json] [--function <name>]
 *   npm run doctor -- --sandbox [--pipeline <name>] [--json]
 *
 * Against AWS it invokes the deployed watch-rollouts function with {"action": "doctor"}: the
 * target roles trust only the orchestrator's function roles (templates/target-account-role.yml),
 * so the operator's credentials cannot assume them; the same payload works with
 * `aws lambda invoke`. With --sandbox the same handler runs in-process against the local sandbox,
 * as that function, with its role. Exit status: 0 when every check passed, 1 otherwise, 2 on
 * usage errors.
 */
import { parseArgs } from "node:util";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { clientConfig, currentRegion } from "../lib/aws/clients.ts";
import { configPath, loadConfig } from "../lib/config/load.ts";
import type { DoctorReport } from "../lib/doctor/checks.ts";
import { renderDoctorReport } from "../lib/doctor/render.ts";

const USAGE = `usage:
  npm run doctor -- --stage <stage> [--pipeline <name>] [--json] [--function <name>]
  npm run doctor -- --sandbox [--pipeline <name>] [--json]`;

const { values } = parseArgs({
  options: {
    stage: { type: "string" },
    function: { type: "string" },
    pipeline: { type: "string" },
    sandbox: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.sandbox && !values.stage && !values.function) {
  console.error(`name the deployment (--stage), or use --sandbox\n${USAGE}`);
  process.exit(2);
}

const config = loadConfig(configPath());
if (values.pipeline && !config.pipelines.some((pipeline) => pipeline.name === values.pipeline)) {
  console.error(`no pipeline "${values.pipeline}" in ${configPath()}`);
  process.exit(2);
}

const viaFunction = async (): Promise<DoctorReport> => {
  const functionName = values.function ?? `ami-orchestrator-${values.stage}-watch-rollouts`;
  const lambda = new LambdaClient(clientConfig({ region: currentRegion() }));
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: JSON.stringify({
        action: "doctor",
        ...(values.pipeline ? { pipeline: values.pipeline } : {}),
      }),
    }),
  );
  const text = new TextDecoder().decode(response.Payload);
  if (response.FunctionError) {
    console.error(`${functionName} failed: ${text}`);
    process.exit(1);
  }
  return JSON.parse(text) as DoctorReport;
};

const viaSandbox = async (): Promise<DoctorReport> => {
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  const { sandboxDoctorSession } = await import("../sandbox/doctor.ts");
  const sandbox = await sandboxDoctorSession(config);
  try {
    const run = await sandbox.doctor(values.pipeline);
    if (!values.json) console.log(`(sandbox: ${run.mutatingCalls} mutating calls)\n`);
    return run.report;
  } finally {
    await sandbox.close();
  }
};

const report = values.sandbox ? await viaSandbox() : await viaFunction();
console.log(values.json ? JSON.stringify(report, null, 2) : renderDoctorReport(report));
process.exit(report.ok ? 0 : 1);
