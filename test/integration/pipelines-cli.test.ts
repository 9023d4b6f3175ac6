import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  describe("plan --sandbox: the working tree against the last commit's definitions, deployed and built", () => {
    /** A clone whose one commit holds this repository's config and definitions. */
    const committedCopy = (t: TestContext): string => {
      const root = copyOfRepository(t);
      const git = (...args: string[]) =>
        spawnSync(
          "git",
          ["-C", root, "-c", "user.name=ci", "-c", "user.email=ci@example.com", ...args],
          {
            encoding: "utf8",
          },
        );
      git("init", "-q");
      git("add", "-A");
      git("commit", "-qm", "definitions");
      return root;
    };
    const component = (root: string) =>
      join(root, "pipelines/base-al2023/components/harden-ssh.yml");

    it("shows a changed component as a new build, the recipe as a new version, the pipeline updated in place, and a build to come", (t) => {
      const root = committedCopy(t);
      writeFileSync(
        component(root),
        readFileSync(component(root), "utf8").replace("MaxAuthTries 3", "MaxAuthTries 2"),
      );
      const run = pipelines(root, "plan", "--stage", "dev", "--sandbox");
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stdout.trim().split("\n");
      assert.match(
        lines[0] ?? "",
        /^sandbox: ami-orchestrator-dev-images deployed from the definitions at [0-9a-f]{12} \(as ami-orchestrator-images-ci\) and built once \(base-al2023 base-al2023\/1\.0\.0\/1\)/,
      );
      assert.match(
        lines[1] ?? "",
        /^ami-orchestrator-dev-images: update \(change set ami-orchestrator-[0-9a-f]{16}, deleted\)$/,
      );
      assert.deepEqual(lines.slice(2, 10), [
        "  base-al2023",
        "    component base-al2023-baseline-packages: unchanged",
        "    component base-al2023-harden-ssh: replaced: new build (ChangeDescription, Data)",
        "    component base-al2023-boot-checks: unchanged",
        "    recipe: replaced: a new recipe version (the previous one is retained) (Components)",
        "    infrastructure: unchanged",
        "    distribution: unchanged",
        "    pipeline: updated in place (ImageRecipeArn)",
      ]);
      assert.match(
        lines[10] ?? "",
        /^ {4}build after deploy: would start \(inputs changed since arn:aws:imagebuilder:eu-west-1:999999999999:image\/base-al2023\/1\.0\.0\/1 /,
      );
    });

    it("finds nothing to change, and no build to start, in a tree that is the commit", (t) => {
      const run = pipelines(committedCopy(t), "plan", "--stage", "dev", "--sandbox");
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^ami-orchestrator-dev-images: update, no changes /m);
      assert.match(
        run.stdout,
        /build after deploy: none \(unchanged since .*image\/base-al2023\/1\.0\.0\/1 \(AVAILABLE\)\)/,
      );
    });

    it("plans a new stack where nothing was committed yet", (t) => {
      const run = pipelines(copyOfRepository(t), "plan", "--stage", "dev", "--sandbox");
      assert.equal(run.status, 0, run.stderr);
      assert.match(
        run.stdout,
        /^sandbox: ami-orchestrator-dev-images not deployed \(no commit HEAD here/m,
      );
      assert.match(run.stdout, /^ami-orchestrator-dev-images: new stack /m);
      assert.match(run.stdout, /component base-al2023-harden-ssh: created: first version/);
      assert.match(run.stdout, /build after deploy: would start \(new pipeline: its first image\)/);
    });
  });

  it("makes validate-config fail on a broken definition", (t) => {
    const root = goldenRepo(t, { "pipelines/golden/components/harden.yml": "phases: [\n" });
    const run = validateConfig(root);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^pipelines\/golden\/components\/harden\.yml:\d+:\d+: /m);
  });
});
