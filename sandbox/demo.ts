/**
 * `npm start`: the orchestrator's main job, run locally against the sandbox (no AWS account).
 * Real handlers, real middleware; AWS is the stateful model in sandbox/model.
 *
 *   npm start                 the story, as a timeline
 *   npm start -- --verbose    also print the handlers' structured JSON logs
 *   npm start -- --scenario <name>   one fault scenario (--scenario list shows them)
 *   ORCHESTRATOR_CONFIG=path  use another config file
 */
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  options: {
    verbose: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
    scenario: { type: "string" },
  },
});
const { SCENARIOS, scenarioRequest } = await import("./scenarios.ts");
const request = scenarioRequest(flags.scenario, flags.help);
if (!request.run) {
  (request.exitCode === 0 ? console.log : console.error)(request.text);
  process.exit(request.exitCode);
}
// Before any handler module loads: Powertools reads these when it is constructed.
process.env.POWERTOOLS_LOG_LEVEL = flags.verbose ? "INFO" : "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = flags.verbose ? "false" : "true";
process.env.POWERTOOLS_SERVICE_NAME = "ami-orchestrator";

const { loadConfig, configPath } = await import("../lib/config/load.ts");
const { runDemo } = await import("./demo-story.ts");

const config = loadConfig(configPath());
const standalone = flags.scenario ? SCENARIOS[flags.scenario]?.standalone : undefined;
if (standalone) process.exit(await standalone(config));
await runDemo(config, flags.scenario ? { scenario: flags.scenario } : {});
