import { readConfigFile } from "#config-file";
import { configPath } from "./path.ts";
import type { OrchestratorConfig } from "./schema.ts";

/**
 * The config for the handlers. `#config-file` resolves, through package.json "imports", to the
 * JSON reader in the Lambda bundles (esbuild condition `lambda`) and to the validating YAML
 * loader everywhere else (tests, the sandbox, `serverless invoke local`).
 */
export const loadConfig = (path: string = configPath()): OrchestratorConfig => readConfigFile(path);
