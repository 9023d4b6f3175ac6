import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../../lib/config/load.ts";
import type { OrchestratorConfig } from "../../lib/config/schema.ts";

export const repoPath = (relative: string): string =>
  fileURLToPath(new URL(`../../${relative}`, import.meta.url));

/** A sample event from events/, as `serverless invoke local -p events/<name>.json` would send it. */
export const loadEvent = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(repoPath(`events/${name}.json`), "utf8")) as T;

export const BUILD_ACCOUNT = "999999999999";
export const pipelineArn = (name: string, region = "eu-west-1") =>
  `arn:aws:imagebuilder:${region}:${BUILD_ACCOUNT}:image-pipeline/${name}`;

/** A small valid config, in YAML so tests read like what users write. */
export const configYaml = (extra = ""): string => `
accounts:
  dev: { id: "111111111111", externalId: ext-dev-01, regions: [eu-west-1] }
  prod: { id: "222222222222", externalId: ext-prod-01, regions: [eu-west-1, eu-west-3] }
pipelines:
  - name: base
    arn: ${pipelineArn("base")}
    schedule: { cron: "0 3 ? * MON *", timezone: Europe/Paris }
  - name: web
    arn: ${pipelineArn("web", "eu-west-3")}
${extra}`;

export const testConfig = (extra = ""): OrchestratorConfig =>
  parseConfig(configYaml(extra), "test.yml");
