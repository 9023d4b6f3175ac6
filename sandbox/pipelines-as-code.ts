import { readFileSync } from "node:fs";
import { configPath } from "../lib/config/load.ts";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { type BuildResult, renderBuildResult } from "../lib/pipelines/build.ts";
import { gitCommitOf } from "../lib/pipelines/git.ts";
import { renderPlan } from "../lib/pipelines/plan.ts";
import { rolloutStatusLines } from "../lib/rollout/status.ts";
import { getRollout } from "../lib/rollout/store.ts";
import { type CiJobResult, runCiJob } from "./ci-job.ts";
import { buildSiteOf, loadManagedPipelines, REPOSITORY_ROOT } from "./image-stack.ts";
import type { Invocation } from "./lambda-service.ts";
import { describeOutcome, formatSlackMessage } from "./narrate.ts";
import { scratchRepository } from "./scratch-repository.ts";
import { startSandbox } from "./session.ts";
import { colour, Timeline } from "./timeline.ts";

/**
 * `npm start -- --scenario pipelines-as-code` (docs/pipelines.md): the loop from a commit to the
 * fleet, on a scratch clone of this repository's definitions and config.
 *   0. the definitions as committed are deployed, built and rolled out (last week);
 *   1. a component of the managed pipeline is edited in a commit;
 *   2. CI validates, plans and deploys (a change set through the sandbox's CloudFormation);
 *   3. `build --changed` starts exactly one build; the same job run again starts nothing;
 *   4. the image becomes AVAILABLE, the waves roll it out, and status shows its lineage;
 *   5. a commit with a broken component is refused with file:line:col, before any AWS call;
 *   6. a commit whose new test fails: the alert names the commit and the changed component.
 * Returns what each step produced, for the e2e test, and whether each went as it should.
 */

export interface PipelinesAsCodeRun {
  readonly ok: boolean;
  readonly failedChecks: readonly string[];
  readonly lines: readonly string[];
  readonly edit: { readonly commit: string; readonly job: CiJobResult };
  /** Builds of the pipeline step 3 started, and what the re-run did. */
  readonly started: number;
  readonly rerun: readonly BuildResult[];
  readonly retried: { readonly clientToken: string; readonly imageArn: string };
  readonly image: { readonly arn: string; readonly status: string };
  readonly status: readonly string[];
  readonly broken: {
    readonly commit: string;
    readonly job: CiJobResult;
    readonly cloudFormationCalls: number;
  };
  readonly failing: { readonly commit: string; readonly job: CiJobResult; readonly email: string };
}

const STAGE = "sandbox";
const SSH = "pipelines/base-al2023/components/harden-ssh.yml";
const BOOT = "pipelines/base-al2023/components/boot-checks.yml";

/** Inserts `added` after the line holding `anchor` (the definitions are YAML: text edits). */
const insertAfter = (text: string, anchor: string, added: string): string => {
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error(`the scenario's edit needs "${anchor}" in the definitions`);
  const end = text.indexOf("\n", at) + 1;
  return `${text.slice(0, end)}${added}${text.slice(end)}`;
};

export const runPipelinesAsCode = async (
  config: OrchestratorConfig,
  options: { readonly print?: (line: string) => void; readonly configText?: string } = {},
): Promise<PipelinesAsCodeRun> => {
  const print = options.print ?? ((line: string) => console.log(line));
  const pipeline = config.pipelines.find(
    (candidate) => candidate.definition === "pipelines/base-al2023",
  );
  const site = buildSiteOf(config);
  if (!pipeline || !site)
    throw new Error("the scenario needs the managed pipeline base-al2023 in the config");
  const repo = scratchRepository({
    from: REPOSITORY_ROOT,
    configText: options.configText ?? readFileSync(configPath(), "utf8"),
    remote: "https://github.com/acme/images.git",
    since: "2026-11-16T08:00:00Z",
  });
  const checks: Array<[string, boolean]> = [];
  const check = (what: string, ok: boolean) => {
    checks.push([what, ok]);
    return ok;
  };
  let clockNow = () => 0;
  const lines: string[] = [];
  const timeline = new Timeline(
    () => clockNow(),
    (line) => {
      lines.push(line);
      print(line);
    },
  );
  const build = { account: site.accountId, region: site.region };
  let narrating = false;
  const session = await startSandbox(config, {
    start: "2026-11-16T09:00:00Z",
    // What CI deployed from the first commit.
    imageStack: {
      pipelines: loadManagedPipelines(config, repo.root, gitCommitOf(repo.root)),
      stage: STAGE,
    },
    observer: (invocation: Invocation) => {
      if (!narrating || !["on-image-state", "watch-rollouts"].includes(invocation.functionName))
        return;
      for (const line of describeOutcome(invocation))
        timeline.event(line.where, invocation.functionName, line.text, line.tone);
    },
  });
  const { world, lambda, dynamo } = session;
  clockNow = () => world.clock.now();
  world.imageBuilder.onImageStateChange((image) => {
    if (!narrating || image.pipelineArn !== pipeline.arn) return;
    const tone = image.status === "AVAILABLE" ? "ok" : image.status === "FAILED" ? "fail" : "aws";
    timeline.event(
      build,
      "image builder",
      `${image.name} ${image.version}/${image.buildVersion} → ${image.status}`,
      tone,
    );
  });
  const ci = (steps: "validate" | "all") =>
    runCiJob(world, { root: repo.root, configFile: repo.configFile, stage: STAGE, site, steps });
  const commitEvent = (commit: string, message: string, branch = "main") => {
    timeline.event(build, "git", `${branch} ${commit.slice(0, 12)} ${message}`);
    for (const line of repo.git("diff", "--unified=0", `${commit}~1`, commit).split("\n"))
      if (/^[+-](?![+-])/.test(line)) timeline.note(line);
  };
  const showJob = (job: CiJobResult) => {
    if (job.problems.length > 0) {
      timeline.event(
        build,
        "ci",
        `validate: ${job.problems.length} problem(s), the job stops`,
        "fail",
      );
      for (const problem of job.problems) timeline.note(problem);
      return;
    }
    timeline.event(build, "ci", "validate: all pipeline definitions valid", "ok");
    if (job.plan) {
      timeline.event(build, "ci", "plan:");
      for (const line of renderPlan(job.plan)) timeline.note(line);
    }
    if (job.deployed)
      timeline.event(
        build,
        "ci",
        job.deployed.executed
          ? `deploy: change set ${job.deployed.changeSet.changeSetName} executed`
          : "deploy: no changes",
        "ok",
      );
    for (const result of job.builds ?? [])
      timeline.event(
        build,
        "ci",
        `build --changed: ${renderBuildResult(result)}`,
        result.outcome === "started" ? "ok" : "info",
      );
  };

  try {
    // 0. Last week: the first commit deployed (above), built for its commit and rolled out.
    const first = await ci("all");
    await lambda.run(world.clock.now() + 8 * 3600_000);
    const firstImage = first.builds?.find((result) => result.outcome === "started");
    print(colour.bold('ami-orchestrator sandbox: scenario "pipelines-as-code"'));
    print(
      colour.dim(
        "image definitions in git: a commit ends with instances on the new AMI, traceable to that commit",
      ),
    );
    timeline.heading(
      "0. Where we start: the definitions as committed are deployed, built and rolled out",
    );
    timeline.event(
      build,
      "cloudformation",
      `${first.plan?.stackName} deployed by change set, as the CI role ami-orchestrator-images-ci`,
    );
    timeline.note(
      `${firstImage?.outcome === "started" ? firstImage.imageArn.split(":image/")[1] : "?"} built for ${repo.git("rev-parse", "--short=12", "HEAD~0")} and rolled out to every wave`,
    );
    narrating = true;

    timeline.heading("1. A component of base-al2023 is edited in a commit");
    world.clock.advanceTo("2026-11-23T09:00:00Z");
    const editMessage = "harden-ssh: drop idle SSH sessions after 10 minutes";
    const editCommit = repo.commit(editMessage, {
      [SSH]: insertAfter(
        repo.read(SSH),
        "MaxAuthTries 3",
        "              ClientAliveInterval 300\n              ClientAliveCountMax 2\n",
      ),
    });
    commitEvent(editCommit, editMessage);

    timeline.heading("2. CI on main: validate, plan, deploy (a change set through CloudFormation)");
    const imagesBefore = world.imageBuilder.imagesOf(pipeline.arn).length;
    const edit = await ci("all");
    showJob(edit);
    const started = world.imageBuilder.imagesOf(pipeline.arn).length - imagesBefore;
    check(
      "step 2: the plan replaces harden-ssh (a new build) and the recipe, and updates the pipeline in place",
      edit.plan?.pipelines[0]?.components.find((c) => c.name === "base-al2023-harden-ssh")
        ?.versioning === "new build" &&
        edit.plan?.pipelines[0]?.recipe.outcome === "replaced" &&
        edit.plan?.pipelines[0]?.pipeline.outcome === "updated in place",
    );
    check("step 2: the change set was executed", edit.deployed?.executed === true);

    timeline.heading(
      "3. build --changed starts exactly one build; the same job run again starts nothing",
    );
    const newImage = edit.builds?.find((result) => result.outcome === "started");
    check("step 3: one build started", started === 1 && newImage !== undefined);
    const rerunJob = await ci("all");
    const rerun = rerunJob.builds ?? [];
    timeline.event(build, "ci", "the same job, run again:");
    for (const result of rerun) timeline.note(renderBuildResult(result));
    const image = world.imageBuilder.images.get(
      newImage?.outcome === "started" ? newImage.imageArn : "",
    );
    const clientToken = newImage?.outcome === "started" ? newImage.clientToken : "";
    // Were the image not listed yet, the same request would carry the same client token.
    const { imageBuildVersionArn: retriedArn } = (await world.call({
      service: "imagebuilder",
      operation: "StartImagePipelineExecution",
      accountId: site.accountId,
      region: site.region,
      input: { imagePipelineArn: pipeline.arn, clientToken, tags: image?.tags ?? {} },
    })) as { imageBuildVersionArn: string };
    timeline.note(
      `StartImagePipelineExecution again with client token ${clientToken}: ${retriedArn === image?.arn ? "answered with the same build, nothing new started" : `a new build ${retriedArn}`}`,
    );
    check(
      "step 3: the re-run starts nothing, and the same client token gives the same build",
      rerun.every((result) => result.outcome === "unchanged") &&
        retriedArn === image?.arn &&
        world.imageBuilder.imagesOf(pipeline.arn).length === imagesBefore + 1,
    );

    timeline.heading("4. AVAILABLE, the waves roll it out, and status shows where it comes from");
    await lambda.run(world.clock.now() + 8 * 3600_000);
    const record = image ? await getRollout(dynamo.db, dynamo.table, image.arn) : undefined;
    const status: string[] = [];
    if (record)
      for await (const line of rolloutStatusLines(
        dynamo.db,
        dynamo.table,
        record,
        (pipeline.rollout?.waves ?? []).map((wave) => wave.name),
        { limit: 50 },
      ))
        status.push(line);
    timeline.event(build, "operator", `npm run rollout -- status ${pipeline.name}`);
    for (const line of status) timeline.note(line);
    check(
      "step 4: the image is AVAILABLE and its rollout SUCCEEDED",
      image?.status === "AVAILABLE" && record?.status === "succeeded",
    );
    check(
      "step 4: status shows the lineage with the commit",
      status.some((line) => line.includes(`lineage: commit ${editCommit.slice(0, 12)}`)),
    );

    timeline.heading("5. A commit with a broken component is refused before anything deploys");
    repo.git("checkout", "-q", "-b", "ssh-banner");
    const brokenMessage = "harden-ssh: show the login banner";
    const brokenCommit = repo.commit(brokenMessage, {
      [SSH]: insertAfter(
        repo.read(SSH),
        "    steps:",
        "      - name: Banner\n        action: ExecuteBahs\n        inputs:\n          commands: [\"echo 'Authorized use only' > /etc/issue.net\"]\n\n",
      ),
    });
    commitEvent(brokenCommit, brokenMessage, "ssh-banner");
    const cloudFormationBefore = world.calls.filter(
      (made) => made.service === "cloudformation",
    ).length;
    const brokenJob = await ci("all");
    showJob(brokenJob);
    const cloudFormationCalls =
      world.calls.filter((made) => made.service === "cloudformation").length - cloudFormationBefore;
    timeline.note(`CloudFormation calls made: ${cloudFormationCalls}`);
    check(
      "step 5: refused with file:line:col, no CloudFormation call",
      brokenJob.problems.some(
        (problem) => problem.startsWith(`${SSH}:`) && /^[^:]+:\d+:\d+: /.test(problem),
      ) &&
        cloudFormationCalls === 0 &&
        !brokenJob.plan,
    );
    repo.git("checkout", "-q", "main");

    timeline.heading(
      "6. A commit whose new test fails: the alert names the commit and what changed",
    );
    world.clock.advance(24 * 3600_000);
    const failingMessage = "boot-checks: chronyd must run";
    const failingCommit = repo.commit(failingMessage, {
      [BOOT]: `${repo.read(BOOT).trimEnd()}\n\n      - name: ChronydRunning\n        action: ExecuteBash\n        inputs:\n          commands:\n            - systemctl is-active chronyd\n`,
    });
    commitEvent(failingCommit, failingMessage);
    world.imageBuilder.failNextBuild(pipeline.arn, {
      step: "TESTING",
      failedStep: "ChronydRunning",
      reason:
        "Image Test Failure: Step 'ChronydRunning' failed: Component 'base-al2023-boot-checks' exited with code 3",
      logLines: [
        "Stdout: inactive",
        "Stderr: base-al2023-boot-checks: ChronydRunning exited with code 3",
      ],
    });
    const emailsBefore = world.sns.published.length;
    const slackBefore = session.slack.messages.length;
    const failingJob = await ci("all");
    showJob(failingJob);
    await lambda.run(world.clock.now() + 2 * 3600_000);
    const email = world.sns.published
      .slice(emailsBefore)
      .find((message) => /Image build failed/.test(message.subject ?? ""));
    for (const message of session.slack.messages.slice(slackBefore)) {
      timeline.event(build, "slack", "message received by the webhook (loopback):", "warn");
      for (const line of formatSlackMessage(message)) timeline.note(line);
    }
    check(
      "step 6: the alert names the commit and the changed component",
      (email?.message ?? "").includes(failingCommit.slice(0, 12)) &&
        /base-al2023-boot-checks 1\.0\.0\/1 → 1\.0\.0\/2/.test(email?.message ?? ""),
    );

    const failedChecks = checks.filter(([, ok]) => !ok).map(([what]) => what);
    print("");
    for (const [what, ok] of checks) print(`${ok ? colour.green("✓") : colour.red("✗")} ${what}`);
    return {
      ok: failedChecks.length === 0,
      failedChecks,
      lines,
      edit: { commit: editCommit, job: edit },
      started,
      rerun,
      retried: { clientToken, imageArn: retriedArn },
      image: { arn: image?.arn ?? "", status: image?.status ?? "" },
      status,
      broken: { commit: brokenCommit, job: brokenJob, cloudFormationCalls },
      failing: { commit: failingCommit, job: failingJob, email: email?.message ?? "" },
    };
  } finally {
    await session.close();
    repo.remove();
  }
};

export const pipelinesAsCodeScenario = async (config: OrchestratorConfig): Promise<number> =>
  (await runPipelinesAsCode(config)).ok ? 0 : 1;
