import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  PIPELINE_SCHEMA_FILE,
  pipelineJsonSchemaText,
} from "../../../lib/pipelines/json-schema.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const hasCfnLint = spawnSync("cfn-lint", ["--version"]).status === 0;

describe("generated files", () => {
  it("publishes the JSON Schema generated from the zod schema (npm run pipelines -- schema)", () => {
    assert.deepEqual(
      JSON.parse(readFileSync(repoPath(PIPELINE_SCHEMA_FILE), "utf8")),
      JSON.parse(pipelineJsonSchemaText()),
      `${PIPELINE_SCHEMA_FILE} is stale: run npm run pipelines -- schema`,
    );
  });

  it("points pipeline.yml files at the published schema for editors", () => {
    const definition = readFileSync(repoPath("pipelines/base-al2023/pipeline.yml"), "utf8");
    assert.match(
      definition,
      /^# yaml-language-server: \$schema=\.\.\/\.\.\/schemas\/pipeline\.schema\.json$/m,
    );
  });

  it("takes the replacement rules from cfn-lint's resource schemas", {
    skip: !hasCfnLint && "cfn-lint is not installed",
  }, () => {
    const out = execFileSync("npx", ["tsx", "scripts/generate-replacement-rules.ts", "--check"], {
      cwd: repoPath(""),
      encoding: "utf8",
    });
    assert.match(out, /current with cfn-lint/);
  });
});
