import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseConfig } from "../../../lib/config/load.ts";
import { repoPath } from "../../helpers/fixtures.ts";

describe("the README's minimal config", () => {
  it("is a valid config, as the validator reads it", () => {
    const readme = readFileSync(repoPath("README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## A minimal config"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(yaml, 'README.md has a yaml block under "## A minimal config"');

    const config = parseConfig(yaml, "README.md");

    assert.deepEqual(
      config.pipelines.map((pipeline) => pipeline.rollout?.waves.map((wave) => wave.name)),
      [["dev", "prod"]],
    );
  });
});
