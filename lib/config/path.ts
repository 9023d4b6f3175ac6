import { resolve } from "node:path";

export const DEFAULT_CONFIG_PATH = "config/orchestrator.yml";

/** The config path in effect: `ORCHESTRATOR_CONFIG` if set, else config/orchestrator.yml. */
export const configPath = (env: NodeJS.ProcessEnv = process.env): string =>
  resolve(env.ORCHESTRATOR_CONFIG || DEFAULT_CONFIG_PATH);
