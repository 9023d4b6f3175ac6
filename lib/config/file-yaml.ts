/** Reads the YAML config, validated with located errors: tools, tests, the sandbox, local runs. */
export { loadConfig as readConfigFile } from "./load.ts";
