import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { repoPath } from "../../helpers/fixtures.ts";

const read = (file: string) => parse(readFileSync(repoPath(file), "utf8"));

/** The pipelines commands a list of shell lines runs, in order. */
const commands = (lines: string[]): string[] =>
  lines.flatMap((line) => {
    const found = /npm run (?:--silent )?(validate-config|pipelines -- (\w+))/.exec(line);
    return found ? [found[2] ?? found[1] ?? ""] : [];
  });

describe("ready-to-copy CI files", () => {
  it("GitHub Actions: validates every push, and on main deploys then builds what changed, with OIDC", () => {
    const workflow = read("ci/github-actions.yml");
    const validate = workflow.jobs.validate.steps as Array<{
      run?: string;
      with?: Record<string, unknown>;
    }>;
    const deploy = workflow.jobs.deploy.steps as Array<{
      run?: string;
      uses?: string;
      with?: Record<string, unknown>;
    }>;
    assert.deepEqual(commands(validate.flatMap((step) => step.run ?? [])), [
      "validate-config",
      "synth",
    ]);
    assert.deepEqual(commands(deploy.flatMap((step) => step.run ?? [])), [
      "plan",
      "deploy",
      "build",
    ]);
    assert.match(deploy.at(-1)?.run ?? "", /build --stage "\$STAGE" --changed$/);
    assert.equal(workflow.jobs.deploy.needs, "validate");
    assert.equal(workflow.jobs.deploy.permissions["id-token"], "write");
    const credentials = deploy.findIndex((step) =>
      step.uses?.startsWith("aws-actions/configure-aws-credentials@"),
    );
    assert.ok(
      credentials >= 0 && credentials < deploy.findIndex((step) => step.run?.includes("deploy")),
    );
    assert.ok(!JSON.stringify(workflow).includes("aws-secret-access-key"), "no stored keys");
    for (const job of [validate, deploy]) assert.equal(job[0]?.with?.["fetch-depth"], 0);
  });

  it("GitLab CI: the same, with an ID token the SDK exchanges for the role", () => {
    const pipeline = read("ci/gitlab-ci.yml");
    assert.deepEqual(pipeline.stages, ["validate", "deploy"]);
    assert.deepEqual(commands(pipeline.validate.script), ["validate-config", "synth"]);
    assert.deepEqual(commands(pipeline.deploy.script), ["plan", "deploy", "build"]);
    assert.match(pipeline.deploy.script.at(-1), /--changed$/);
    assert.equal(pipeline.deploy.id_tokens.AWS_ID_TOKEN.aud, "https://gitlab.com");
    assert.equal(pipeline.deploy.variables.AWS_ROLE_ARN, "$AMI_ORCHESTRATOR_CI_ROLE_ARN");
    assert.equal(pipeline.variables.GIT_DEPTH, "0");
    // The role's trust (templates/ci-role.yml) expects this audience by default.
    const role = readFileSync(repoPath("templates/ci-role.yml"), "utf8");
    assert.match(role, /GitLabAudience:\n\s+Type: String\n\s+Default: https:\/\/gitlab\.com/);
  });
});
