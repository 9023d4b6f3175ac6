/**
 * `npm run validate-config [-- <file>]`: checks the config (ORCHESTRATOR_CONFIG or
 * config/orchestrator.yml) and prints every problem as `file:line:col path: message (got value)`.
 * Exit code 1 when invalid, so CI and pre-commit hooks can use it.
 */
import { relative } from "node:path";
import {
  ConfigValidationError,
  configPath,
  formatProblem,
  loadConfig,
} from "../lib/config/load.ts";

const file = process.argv[2] ?? configPath();
const fromCwd = relative(process.cwd(), file);
const shown = fromCwd && !fromCwd.startsWith("..") ? fromCwd : file;
try {
  const config = loadConfig(file);
  const scheduled = config.pipelines.filter((pipeline) => pipeline.schedule);
  console.log(
    `${shown}: valid (${config.pipelines.length} pipelines, ${scheduled.length} scheduled, ${Object.keys(config.accounts).length} target accounts)`,
  );
  for (const pipeline of config.pipelines) {
    const schedule = pipeline.schedule
      ? `cron(${pipeline.schedule.cron}) ${pipeline.schedule.timezone}${pipeline.schedule.enabled ? "" : " (disabled)"}`
      : "no schedule";
    const waves =
      pipeline.rollout?.waves
        .map((wave) => `${wave.name}[${wave.accounts.join(",")}]`)
        .join(" → ") ?? "no rollout";
    console.log(`  ${pipeline.name}: ${schedule}; ${waves}`);
  }
} catch (error) {
  if (error instanceof ConfigValidationError) {
    console.error(`${shown}: ${error.problems.length} problem(s)`);
    for (const problem of error.problems)
      console.error(`  ${formatProblem({ ...problem, file: shown })}`);
  } else {
    console.error(error instanceof Error ? error.message : String(error));
  }
  process.exit(1);
}
