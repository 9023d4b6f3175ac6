import { parseArgs } from "node:util";
import { SITE_OPTIONS, siteUsage, stackOutput } from "../deployment/locate.ts";
import type { DoctorReport } from "../doctor/checks.ts";
import { renderDoctorReport } from "../doctor/render.ts";
import { connect, EXIT, type OperatorDeps, reportFailure, UsageError } from "./context.ts";

/**
 * `npm run doctor`: would a rollout succeed if an image arrived now? Read-only. It invokes the
 * deployed watch-rollouts function with {"action": "doctor"}: the target roles trust only the
 * orchestrator's function roles (templates/target-account-role.yml), so the operator's own
 * credentials cannot assume them. With --sandbox the same handler runs against the local sandbox
 * (the script provides it). Exit status: 0 when every check passed, 1 otherwise, 2 on usage errors.
 */

export const doctorUsage = (deps: Pick<OperatorDeps, "defaults">): string => `usage:
  npm run doctor [-- --stage <stage>] [--region <region>] [--pipeline <name>] [--json] [--function <name>]
  npm run doctor -- --sandbox [--pipeline <name>] [--json]

  ${siteUsage(deps.defaults)}
  --function: invoke this function instead of the stack's watch-rollouts`;

const OPTIONS = {
  ...SITE_OPTIONS,
  function: { type: "string" },
  pipeline: { type: "string" },
  sandbox: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

export interface DoctorDeps extends OperatorDeps {
  /** The local sandbox's doctor (`--sandbox`): its report and the mutating calls it made. */
  readonly sandboxDoctor?: (
    pipeline: string | undefined,
  ) => Promise<{ readonly report: DoctorReport; readonly mutatingCalls: number }>;
}

export const runDoctor = async (argv: readonly string[], deps: DoctorDeps): Promise<number> => {
  const usage = doctorUsage(deps);
  try {
    let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
    try {
      ({ values } = parseArgs({ args: [...argv], options: OPTIONS }));
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    if (values.help) {
      deps.out(usage);
      return EXIT.ok;
    }
    const { pipeline } = values;
    if (pipeline && !deps.config().pipelines.some((configured) => configured.name === pipeline))
      throw new UsageError(`no pipeline "${pipeline}" in the configuration`);
    let report: DoctorReport;
    if (values.sandbox) {
      if (values.stage || values.region || values.function)
        throw new UsageError("--sandbox runs locally: no --stage, --region or --function");
      if (!deps.sandboxDoctor) throw new UsageError("no sandbox here");
      const run = await deps.sandboxDoctor(pipeline);
      if (!values.json) deps.out(`(sandbox: ${run.mutatingCalls} mutating calls)\n`);
      report = run.report;
    } else {
      const { deployment, clients } = await connect(values, deps);
      const functionName = values.function ?? stackOutput(deployment, "watchRolloutsFunction");
      report = (await clients.invoke(functionName, {
        action: "doctor",
        ...(pipeline ? { pipeline } : {}),
      })) as DoctorReport;
    }
    deps.out(values.json ? JSON.stringify(report, null, 2) : renderDoctorReport(report));
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    return reportFailure(error, deps, usage);
  }
};
