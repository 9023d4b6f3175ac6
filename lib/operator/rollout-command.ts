import { parseArgs } from "node:util";
import { SITE_OPTIONS, siteUsage, stackOutput } from "../deployment/locate.ts";
import { connect, EXIT, type OperatorDeps, reportFailure, UsageError } from "./context.ts";
import { printRolloutStatus } from "./status.ts";

/**
 * `npm run rollout -- <command>`: status reads the state table; approve and rollback invoke the
 * deployed watch-rollouts function, which holds the cross-account permissions (the same payload
 * works with `aws lambda invoke`). Both found from the stack's outputs (lib/deployment/locate.ts).
 */

export const rolloutUsage = (deps: Pick<OperatorDeps, "defaults">): string => `usage:
  npm run rollout -- status [<pipeline>...] [--limit <n> | --all] [--failed] [--mismatches] [--stage <stage>] [--region <region>] [--table <name>]
  npm run rollout -- approve <pipeline> <wave> [--rollout <name>] [--stage <stage>] [--region <region>] [--function <name>]
  npm run rollout -- rollback <pipeline> [--stage <stage>] [--region <region>] [--function <name>]

  ${siteUsage(deps.defaults)}
  --limit <n>: targets listed per rollout (default 50; the rest are counted), --all: every one
  --failed: only the failed targets
  --table, --function: use this table or function instead of the stack's outputs`;

const OPTIONS = {
  ...SITE_OPTIONS,
  table: { type: "string" },
  function: { type: "string" },
  rollout: { type: "string" },
  mismatches: { type: "boolean", default: false },
  limit: { type: "string", default: "50" },
  all: { type: "boolean", default: false },
  failed: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

/** Runs the command line `argv` (without node and the script); answers the exit status. */
export const runRollout = async (argv: readonly string[], deps: OperatorDeps): Promise<number> => {
  const usage = rolloutUsage(deps);
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true });
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const { positionals, values } = parsed;
    const [command, ...args] = positionals;
    if (values.help) {
      deps.out(usage);
      return EXIT.ok;
    }
    if (!command) throw new UsageError("name a command: status, approve or rollback");
    if (command === "status") {
      const limit = values.all ? undefined : Number(values.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
        throw new UsageError(`--limit must be a positive integer, got "${values.limit}"`);
      const { deployment, clients } = await connect(values, deps);
      const table = values.table ?? stackOutput(deployment, "tableName");
      await printRolloutStatus(
        clients.db,
        table,
        deps.config(),
        {
          pipelines: args,
          mismatches: values.mismatches,
          ...(limit === undefined ? {} : { limit }),
          failedOnly: values.failed,
        },
        deps.out,
      );
      return EXIT.ok;
    }
    if (command !== "approve" && command !== "rollback")
      throw new UsageError(`unknown command "${command}"`);
    const [pipeline, wave] = args;
    if (!pipeline) throw new UsageError(`${command} needs a pipeline`);
    if (command === "approve" && !wave) throw new UsageError("approve needs a pipeline and a wave");
    const { deployment, clients } = await connect(values, deps);
    const functionName = values.function ?? stackOutput(deployment, "watchRolloutsFunction");
    const payload =
      command === "approve"
        ? {
            action: "approve",
            pipeline,
            wave,
            ...(values.rollout ? { rolloutId: values.rollout } : {}),
            approvedBy: deps.user,
          }
        : { action: "rollback", pipeline, requestedBy: deps.user };
    deps.out(JSON.stringify(await clients.invoke(functionName, payload), null, 2));
    return EXIT.ok;
  } catch (error) {
    return reportFailure(error, deps, usage);
  }
};
