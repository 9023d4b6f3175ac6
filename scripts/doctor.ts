/**
 * `npm run doctor`: would a rollout succeed if an image arrived now? Read-only
 * (lib/operator/doctor-command.ts; `--help` for the usage).
 *
 *   npm run doctor [-- --stage <stage>] [--region <region>] [--pipeline <name>] [--json]
 *   npm run doctor -- --sandbox [--pipeline <name>] [--json]
 *
 * Against AWS it invokes the stack's watch-rollouts function with {"action": "doctor"}; with
 * --sandbox the same handler runs in-process against the local sandbox, as that function, with
 * its role. Exit status: 0 when every check passed, 1 otherwise, 2 on usage errors.
 */
import { configPath, loadConfig } from "../lib/config/load.ts";
import { runDoctor } from "../lib/operator/doctor-command.ts";
import { operatorDeps } from "./operator-deps.ts";

const sandboxDoctor = async (pipeline: string | undefined) => {
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  const { sandboxDoctorSession } = await import("../sandbox/doctor.ts");
  const sandbox = await sandboxDoctorSession(loadConfig(configPath()));
  try {
    return await sandbox.doctor(pipeline);
  } finally {
    await sandbox.close();
  }
};

process.exit(await runDoctor(process.argv.slice(2), { ...operatorDeps(), sandboxDoctor }));
