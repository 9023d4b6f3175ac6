import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import type { OrchestratorConfig } from "./schema.ts";

/**
 * What the Lambda bundles read: the config as `serverless package` validated it and wrote it,
 * as JSON with every default applied. No YAML parser or schema is loaded at cold start; the
 * file was checked when it was built, and it is part of the same artifact.
 */
export const readConfigFile = (path: string): OrchestratorConfig => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as OrchestratorConfig;
  } catch (error) {
    throw new ConfigError(`cannot read the packaged configuration ${path}`, { cause: error });
  }
};
