/**
 * `npm run validate-config [-- <file>]`: checks the config (ORCHESTRATOR_CONFIG or
 * config/orchestrator.yml) and prints every problem as `file:line:col path: message (got value)`,
 * then the managed pipelines' definitions under pipelines/ (as `npm run pipelines -- validate`).
 * Exit code 1 when invalid, so CI and pre-commit hooks can use it.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import {
  ConfigValidationError,
  configPath,
  formatProblem,
  loadConfig,
} from "../lib/config/load.ts";
import { loadDefinitions } from "../lib/pipelines/definitions.ts";
import { formatDiagnostic } from "../lib/pipelines/diagnostic.ts";

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
  const { pipelines, diagnostics } = loadDefinitions({
    root: process.cwd(),
    config,
    configFile: shown,
    configText: readFileSync(file, "utf8"),
  });
  for (const diagnostic of diagnostics) console.error(formatDiagnostic(diagnostic));
  if (diagnostics.length > 0) {
    console.error(`pipeline definitions: ${diagnostics.length} problem(s)`);
    process.exit(1);
  }
  if (pipelines.length > 0) {
    console.log(`pipelines/: ${pipelines.map((pipeline) => pipeline.folder).join(", ")} valid`);
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
