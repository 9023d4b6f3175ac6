import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { loadConfig } from "../../lib/config/load.ts";
import type { PipelinesAsCodeRun } from "../../sandbox/pipelines-as-code.ts";
import { repoPath } from "../helpers/fixtures.ts";

// The handlers log and emit metrics through Powertools: quiet unless asked (DEBUG_LOG_LEVEL).
process.env.POWERTOOLS_LOG_LEVEL = process.env.DEBUG_LOG_LEVEL ?? "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

const SSH = "pipelines/base-al2023/components/harden-ssh.yml";
const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023";

/**
 * `npm start -- --scenario pipelines-as-code`: from a commit that edits a component to instances
 * on the new AMI, in a scratch clone of this repository's definitions and config.
 */
describe("pipelines as code, from a commit to the fleet", () => {
  let run: PipelinesAsCodeRun;
  before(async () => {
    process.env.ORCHESTRATOR_CONFIG = repoPath("config/orchestrator.yml");
    const { runPipelinesAsCode } = await import("../../sandbox/pipelines-as-code.ts");
    run = await runPipelinesAsCode(loadConfig(repoPath("config/orchestrator.yml")), {
      print: () => {},
    });
  });

  it("1-2. validates, plans (harden-ssh a new build, a new recipe version, the pipeline updated in place) and deploys the commit", () => {
    const { job } = run.edit;
    assert.deepEqual(job.problems, []);
    const plan = job.plan?.pipelines[0];
    assert.deepEqual(
      plan?.components.map((component) => [
        component.name,
        component.outcome,
        component.versioning,
      ]),
      [
        ["base-al2023-baseline-packages", "unchanged", undefined],
        ["base-al2023-harden-ssh", "replaced", "new build"],
        ["base-al2023-boot-checks", "unchanged", undefined],
      ],
    );
    assert.equal(plan?.recipe.outcome, "replaced");
    assert.equal(plan?.pipeline.outcome, "updated in place");
    assert.equal(plan?.build.start, true);
    assert.equal(job.deployed?.executed, true);
  });

  it("3. starts exactly one build, tagged with the commit; the same job run again starts nothing", () => {
    assert.equal(run.started, 1);
    const [build] = run.edit.job.builds ?? [];
    assert.equal(build?.outcome, "started");
    assert.equal(build?.outcome === "started" ? build.imageArn : "", `${IMAGE}/1.0.1/1`);
    assert.equal(
      build?.outcome === "started" ? build.clientToken.slice(0, 12) : "",
      run.edit.commit.slice(0, 12),
    );
    assert.deepEqual(
      run.rerun.map((result) => result.outcome),
      ["unchanged"],
    );
    // The same client token answers the build already started.
    assert.equal(run.retried.imageArn, `${IMAGE}/1.0.1/1`);
  });

  it("4. the image becomes AVAILABLE, the waves roll it out, and status shows its lineage with the commit", () => {
    assert.equal(run.image.status, "AVAILABLE");
    assert.match(run.status[0] ?? "", /^base-al2023\/1\.0\.1\/1 {2}base-al2023 {2}SUCCEEDED$/);
    const at = run.status.findIndex((line) => line.startsWith("  lineage: "));
    assert.equal(
      run.status[at],
      `  lineage: commit ${run.edit.commit.slice(0, 12)} (refs/heads/main, https://github.com/acme/images.git) → recipe base-al2023 1.0.1 → image base-al2023/1.0.1/1`,
    );
    assert.match(
      run.status[at + 1] ?? "",
      /→ 5 AMI\(s\): eu-west-1 3 \(ami-[0-9a-f]+, ami-[0-9a-f]+, 1 more\) · eu-west-3 2 /,
    );
    assert.match(run.status.join("\n"), /waves: dev \(sent\) → prod \(sent\)/);
    assert.match(run.status.join("\n"), /targets: 3 · succeeded 3 · failed 0/);
  });

  it("5. refuses a commit with a broken component with file:line:col, before any CloudFormation call", () => {
    assert.deepEqual(run.broken.job.problems, [
      `${SSH}:10:17: unknown action "ExecuteBahs"; did you mean "ExecuteBash"?`,
    ]);
    assert.equal(run.broken.job.plan, undefined);
    assert.equal(run.broken.job.deployed, undefined);
    assert.equal(run.broken.cloudFormationCalls, 0);
  });

  it("6. alerts on a failed build with the commit and the component changed since the last AVAILABLE image", () => {
    assert.match(
      run.failing.email,
      new RegExp(`Commit: +${run.failing.commit.slice(0, 12)} \\(refs/heads/main\\)`),
    );
    assert.match(
      run.failing.email,
      /Components changed since base-al2023\/1\.0\.1\/1 \(the last AVAILABLE image\): base-al2023-boot-checks 1\.0\.0\/1 → 1\.0\.0\/2/,
    );
  });

  it("says every step went as it should", () => {
    assert.deepEqual(run.failedChecks, []);
    assert.equal(run.ok, true);
  });
});
