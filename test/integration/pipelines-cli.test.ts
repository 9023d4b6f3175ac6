import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { repoPath } from "../helpers/fixtures.ts";
import {
  COMPONENT,
  configWith,
  goldenRepo,
  managedPipeline,
  pipelineYml,
} from "../unit/pipelines/repo-fixture.ts";

/** `npm run pipelines -- …` as a user runs it, from the repository root `cwd`. */
const pipelines = (cwd: string, ...args: string[]) => {
  const run = spawnSync(
    repoPath("node_modules/.bin/tsx"),
    [repoPath("scripts/pipelines.ts"), ...args],
    {
      cwd,
      encoding: "utf8",
      env: {
        ...process.env,
        ORCHESTRATOR_CONFIG: "",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        NO_COLOR: "1",
      },
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
};

const validateConfig = (cwd: string) =>
  spawnSync(repoPath("node_modules/.bin/tsx"), [repoPath("scripts/validate-config.ts")], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ORCHESTRATOR_CONFIG: "" },
  });

/** A copy of this repository's config and definitions, to synthesize without touching it. */
const copyOfRepository = (t: TestContext): string => {
  const root = mkdtempSync(join(tmpdir(), "pipelines-repo-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(repoPath("config"), join(root, "config"), { recursive: true });
  cpSync(repoPath("pipelines"), join(root, "pipelines"), { recursive: true });
  return root;
};

const hasCfnLint = spawnSync("cfn-lint", ["--version"]).status === 0;

describe("npm run pipelines", () => {
  it("validates this repository's definitions", () => {
    const run = pipelines(repoPath(""), "validate");
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /all pipeline definitions valid/);
  });

  it("prints each problem as file:line:col: message and exits 1", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        "    - file: components/harden.yml\n      version: 1.0.0.1\n",
      ),
      "pipelines/stray/pipeline.yml": pipelineYml(),
    });
    const run = pipelines(root, "validate");
    assert.equal(run.status, 1);
    assert.deepEqual(run.stderr.trim().split("\n"), [
      'pipelines/golden/pipeline.yml:8:16: recipe.components[0].version: "1.0.0.1" is not a component version: write <major>.<minor>.<patch>, e.g. 1.2.0 (Image Builder adds the build number)',
      "pipelines/stray/pipeline.yml:1:1: no pipeline of config/orchestrator.yml names pipelines/stray: add one with `definition: pipelines/stray` (and its account and region), or delete the folder",
      "2 problem(s)",
    ]);
  });

  it("reports a config pipeline with neither arn nor definition in the same form", (t) => {
    const root = goldenRepo(t, {
      "config/orchestrator.yml": configWith(`${managedPipeline()}  - name: lost\n`),
    });
    const run = pipelines(root, "validate");
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^config\/orchestrator\.yml:\d+:5: pipelines\[1\]: set `arn` \(an existing pipeline\) or `definition: pipelines\/<folder>`/m,
    );
  });

  it("validates AWSTOE documents given as files, standalone", (t) => {
    const root = goldenRepo(t, {
      "loose/broken.yml": "name: x\nphases: [\n",
      "loose/fine.yml": COMPONENT,
    });
    const fine = pipelines(root, "validate", "loose/fine.yml");
    assert.equal(fine.status, 0, fine.stderr);
    const broken = pipelines(root, "validate", "loose/broken.yml", "loose/fine.yml");
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /^loose\/broken\.yml:\d+:\d+: /m);
  });

  it("synthesizes the image stack and prints the template's path", (t) => {
    const root = copyOfRepository(t);
    const run = pipelines(root, "synth", "--stage", "ci");
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), ".pipelines/ami-orchestrator-ci-images.template.json");
    const template = JSON.parse(readFileSync(join(root, run.stdout.trim()), "utf8"));
    assert.ok(template.Resources.BaseAl2023Pipeline);
  });

  it("synthesizes a template cfn-lint finds nothing wrong with", {
    skip: !hasCfnLint && "cfn-lint is not installed",
  }, (t) => {
    const root = copyOfRepository(t);
    const path = pipelines(root, "synth", "--stage", "ci").stdout.trim();
    const lint = spawnSync("cfn-lint", [join(root, path)], { encoding: "utf8" });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  });

  it("synthesizes nothing from broken definitions", (t) => {
    const root = goldenRepo(t, { "pipelines/golden/components/harden.yml": "phases: [\n" });
    const run = pipelines(root, "synth", "--stage", "ci");
    assert.equal(run.status, 1);
    assert.match(run.stderr, /nothing synthesized or deployed/);
    assert.equal(existsSync(join(root, ".pipelines")), false);
  });

  it("says plan --sandbox is not available yet", () => {
    const run = pipelines(repoPath(""), "plan", "--sandbox");
    assert.equal(run.status, 1);
    assert.match(run.stderr, /not yet/);
  });

  it("makes validate-config fail on a broken definition", (t) => {
    const root = goldenRepo(t, { "pipelines/golden/components/harden.yml": "phases: [\n" });
    const run = validateConfig(root);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^pipelines\/golden\/components\/harden\.yml:\d+:\d+: /m);
  });
});
