/**
 * The story `npm start` tells (and, with a scenario, one fault on the first pipeline's rollout),
 * against the sandbox. Returns the run's own figures, so `npm run docs` can print the summary
 * the run produced rather than a copy of it. Import it after setting POWERTOOLS_LOG_LEVEL and
 * NO_COLOR: Powertools and the timeline read them when they load.
 */
import { relative } from "node:path";
import type { SQSEvent } from "aws-lambda";
import { configPath } from "../lib/config/load.ts";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import type { TargetMessage } from "../lib/events/rollout-message.ts";
import { recentRollouts, renderRollout } from "../lib/rollout/status.ts";
import { getTarget } from "../lib/rollout/store.ts";
import { invoke } from "./lambda.ts";
import type { Invocation } from "./lambda-service.ts";
import { describeCall, describeOutcome, describeTarget, formatSlackMessage } from "./narrate.ts";
import { SCENARIOS } from "./scenarios.ts";
import { startSandbox } from "./session.ts";
import { colour, Timeline } from "./timeline.ts";

/** What the main story did, counted from the sandbox's records of the run. */
export interface DemoSummary {
  /** Successful StartImagePipelineExecution calls, retried ticks included. */
  readonly starts: number;
  /** Builds of every configured pipeline (a retried tick gets its original build back). */
  readonly builds: number;
  readonly grants: number;
  readonly templateVersions: number;
  readonly refreshes: number;
  readonly refreshesSucceeded: number;
  readonly awsCalls: number;
  readonly deadLetters: number;
}

export const summaryLines = (summary: DemoSummary): string[] => {
  const answered = summary.starts - summary.builds;
  return [
    `${colour.bold("Summary")}  StartImagePipelineExecution calls: ${summary.starts} · builds started: ${summary.builds}${answered > 0 ? ` (${answered === 1 ? "1 retried tick was" : `${answered} retried ticks were`} answered with the build already started)` : ""}`,
    `         grants: ${summary.grants} · launch-template versions: ${summary.templateVersions} · instance refreshes: ${summary.refreshes} (${summary.refreshesSucceeded} successful) · AWS calls: ${summary.awsCalls} · dead letters: ${summary.deadLetters}`,
  ];
};

export interface DemoRun {
  /** The main story's figures (none for a fault scenario). */
  readonly summary?: DemoSummary;
  /** `npm run rollout -- status` at the end, one string per rollout. */
  readonly status: readonly string[];
}

export const runDemo = async (
  config: OrchestratorConfig,
  options: { readonly scenario?: string; readonly print?: (line: string) => void } = {},
): Promise<DemoRun> => {
  const print = options.print ?? ((line: string) => console.log(line));
  const scenarioName = options.scenario;
  const [scheduled, other] = config.pipelines;
  if (!scheduled || !other) throw new Error("the demo needs a config with at least two pipelines");
  const fromCwd = relative(process.cwd(), configPath());
  const shownConfigPath = fromCwd && !fromCwd.startsWith("..") ? fromCwd : configPath();

  let clockNow = () => 0;
  const timeline = new Timeline(() => clockNow(), print);
  const session = await startSandbox(config, {
    start: "2026-11-23T01:59:30Z",
    disabledPipelines: [other.name],
    // The second pipeline shares its AMIs by launch permission instead of copying them: the same
    // rollout config works, learned from the image's distribution configuration.
    distributionModes: { [other.name]: "share" },
    customSlrAccounts: Object.keys(config.accounts).slice(0, 1),
    legacyLaunchConfigurationGroup: true,
    observer: (invocation) => narrate(invocation),
  });
  const { world } = session;
  // The platform team's set-up (the image stack's deploy by CI) is not the story's: not counted.
  const setupCalls = world.calls.length;
  const handler = session.handlers.startPipelines;
  clockNow = () => world.clock.now();
  const build = { account: world.orchestratorAccountId, region: world.orchestratorRegion };
  // Alerts as the Slack webhook (a loopback server) and the email topic received them.
  let slackShown = 0;
  let emailsShown = 0;
  function showNewAlerts() {
    for (const message of session.slack.messages.slice(slackShown)) {
      timeline.event(build, "slack", "message received by the webhook (loopback):", "warn");
      for (const line of formatSlackMessage(message)) timeline.note(line);
    }
    slackShown = session.slack.messages.length;
    for (const email of world.sns.published.slice(emailsShown)) {
      timeline.event(build, "email", `Subject: ${email.subject}`, "warn");
      // The whole text once, for the build failure; the subject is enough for the others.
      if (/Image build failed/.test(email.subject ?? ""))
        for (const line of email.message.split("\n")) timeline.note(`│ ${line}`);
    }
    emailsShown = world.sns.published.length;
  }

  // Every change the orchestrator makes in AWS, printed after the invocation that made it.
  let printedCalls = setupCalls;
  async function narrate(invocation: Invocation) {
    for (const call of world.calls.slice(printedCalls)) {
      const text = call.mutating && !call.error ? describeCall(call) : undefined;
      if (text && !["imagebuilder", "sqs", "sns"].includes(call.service))
        timeline.event({ account: call.accountId, region: call.region }, call.service, text, "aws");
    }
    printedCalls = world.calls.length;
    if (invocation.functionName === "alerts") showNewAlerts();
    for (const line of describeOutcome(invocation))
      timeline.event(line.where, invocation.functionName, line.text, line.tone);
    if (invocation.functionName === "roll-out-target") {
      for (const record of (invocation.event as SQSEvent).Records) {
        const message = JSON.parse(record.body) as TargetMessage;
        const target = await getTarget(
          session.dynamo.db,
          session.dynamo.table,
          message.rolloutId,
          message,
        ).catch(() => undefined);
        if (target) timeline.note(describeTarget(target));
      }
    }
  }
  world.autoScaling.onRefreshChange((refresh) => {
    const tone =
      refresh.status === "Successful"
        ? "ok"
        : /Fail|Rollback/.test(refresh.status)
          ? "fail"
          : "aws";
    timeline.event(
      { account: refresh.group.accountId, region: refresh.group.region },
      "auto scaling",
      `${refresh.group.name}: refresh ${refresh.status}${refresh.statusReason ? ` (${refresh.statusReason})` : ""}`,
      tone,
    );
  });

  world.imageBuilder.onImageStateChange((image) => {
    const tone = image.status === "AVAILABLE" ? "ok" : image.status === "FAILED" ? "fail" : "aws";
    timeline.event(
      build,
      "image builder",
      `${image.name} ${image.version}/${image.buildVersion} → ${image.status}`,
      tone,
    );
    if (image.status === "AVAILABLE") {
      for (const ami of image.amis) {
        timeline.event(
          { account: ami.accountId, region: ami.region },
          "image builder",
          `  AMI ${ami.image}`,
          "aws",
        );
      }
    }
  });

  const tick = async (pipeline: string, scheduledTime: string, label: string) => {
    world.clock.advanceTo(scheduledTime);
    timeline.event(
      build,
      "scheduler",
      `${label}: {"pipeline":"${pipeline}","scheduledTime":"${scheduledTime}"}`,
    );
    const outcome = await invoke(handler, "start-pipelines", { pipeline, scheduledTime });
    if (!outcome.ok) {
      timeline.event(build, "start-pipelines", outcome.error.message, "fail");
      return;
    }
    for (const result of outcome.result.results) {
      const tone =
        result.outcome === "started" ? "ok" : result.outcome === "failed" ? "fail" : "warn";
      const detail = result.imageBuildVersionArn
        ? ` ${result.imageBuildVersionArn.split("/").slice(-3).join("/")}`
        : "";
      timeline.event(
        build,
        "start-pipelines",
        `${result.pipeline}: ${result.outcome}${detail}`,
        tone,
      );
      if (result.reason) timeline.note(result.reason);
    }
  };

  const printStatus = async (): Promise<string[]> => {
    const lines = [`\n${colour.bold("npm run rollout -- status")}`];
    for (const state of await recentRollouts(session.dynamo.db, session.dynamo.table, {
      pipelines: config.pipelines.map((pipeline) => pipeline.name),
    })) {
      const waves =
        config.pipelines.find((p) => p.name === state.record.pipeline)?.rollout?.waves ?? [];
      lines.push(
        renderRollout(
          state,
          waves.map((wave) => wave.name),
        ),
      );
    }
    for (const line of lines) print(line);
    return lines.slice(1);
  };

  if (scenarioName) {
    const scenario = SCENARIOS[scenarioName];
    if (!scenario) throw new Error(`unknown scenario "${scenarioName}"`);
    // One fault, on the first pipeline's build and two-wave rollout.
    print(colour.bold(`ami-orchestrator sandbox: scenario "${scenarioName}"`));
    print(colour.dim(scenario.description));
    const [first, second] = Object.values(config.accounts).map((account) => account.id);
    scenario.inject(session, { first: first ?? "", second: second ?? first ?? "" });
    timeline.heading(`A build of ${scheduled.name}, then its rollout, with the fault in place`);
    await tick(scheduled.name, "2026-11-23T02:00:00.000Z", "cron tick");
    await session.lambda.run(Date.parse("2026-11-23T08:00:00Z"));
    print(
      `\n${colour.bold("Faults injected")} ${world.faults.injected.length} · AWS calls ${world.calls.length - setupCalls} · dead letters ${world.queues.deadLetter.messages.length}`,
    );
    const status = await printStatus();
    await session.close();
    return { status };
  }

  print(colour.bold("ami-orchestrator sandbox: scheduled AMI refresh and a two-wave rollout"));
  print(
    colour.dim(
      `config ${shownConfigPath} · build account ${build.account} · ${Object.keys(config.accounts).length} target accounts`,
    ),
  );

  timeline.heading("1. The weekly schedule fires");
  await tick(scheduled.name, "2026-11-23T02:00:00.000Z", "cron tick");

  timeline.heading("2. Lambda retries the same tick (at-least-once delivery)");
  await tick(scheduled.name, "2026-11-23T02:00:00.000Z", "same tick again");

  timeline.heading(`3. ${other.name} fires, but someone disabled its pipeline`);
  await tick(other.name, "2026-11-23T02:30:00.000Z", "cron tick");

  await session.lambda.drainAlertsQueue();

  timeline.heading("4. The build runs, tests, and distributes to the target accounts");
  world.clock.advance(10 * 60_000);

  timeline.heading("5. Image Builder notifies AVAILABLE: on-image-state plans the rollout");
  await session.lambda.deliverNotifications();
  timeline.note("a duplicate delivery of the same notification:");
  const [image] = world.imageBuilder.imagesOf(scheduled.arn);
  if (image)
    await session.lambda.invokeAsync(
      "on-image-state",
      session.handlers.onImageState,
      session.lambda.snsEvent(image),
    );

  timeline.heading(
    "6. Wave dev: grants, then (after propagation) template versions and instance refreshes",
  );
  // EventBridge loses one forwarded event on the way: the 5-minute poll must make up for it.
  let lost = false;
  session.lambda.refreshEventFate = (refresh, outcome) => {
    if (lost || outcome !== "Succeeded" || refresh.group.accountId === world.orchestratorAccountId)
      return "delivered";
    if (!refresh.group.name.endsWith("workers") || refresh.group.region === "eu-west-1")
      return "delivered";
    lost = true;
    timeline.event(
      { account: refresh.group.accountId, region: refresh.group.region },
      "eventbridge",
      `the "Succeeded" event of ${refresh.group.name} is lost on the way`,
      "warn",
    );
    return "lost";
  };
  const runUntil = async (iso: string) => session.lambda.run(Date.parse(iso));
  await runUntil("2026-11-23T03:00:00Z");

  timeline.heading("7. Dev bakes for 60 minutes, then wave prod (2 regions), watched to the end");
  await runUntil("2026-11-23T05:00:00Z");

  timeline.heading("8. A very late retry of the first tick, after the build finished");
  await tick(scheduled.name, "2026-11-23T02:00:00.000Z", "same tick, late retry");
  timeline.note("same client token → Image Builder returns the original build; nothing new starts");

  const freeze = config.freeze[0];
  if (freeze) {
    timeline.heading(`9. A tick inside the freeze window (${freeze.from} → ${freeze.to})`);
    world.clock.advanceTo(`${freeze.from}T12:00:00.000Z`);
    await tick(scheduled.name, world.clock.iso(), "cron tick");
  }

  timeline.heading(
    `10. Someone re-enables ${other.name}; its next build fails in testing: the alert explains why`,
  );
  const otherPipeline = world.imageBuilder.pipelines.get(other.arn);
  if (otherPipeline) otherPipeline.status = "ENABLED";
  world.imageBuilder.failNextBuild(other.arn, {
    step: "TESTING",
    failedStep: "ValidateBuild",
    reason:
      "Image Build Failure: Step 'ValidateBuild' failed with exception: Component 'hardening-cis' exited with code 1",
    logLines: [
      "Stdout: Running hardening-cis 1.4.2 (CIS level 1)",
      "Stdout: PASS 5.2.4 Ensure SSH X11 forwarding is disabled",
      "Stdout: connecting with DB_PASSWORD=correct-horse-battery",
      "Stdout: FAIL 5.2.8 Ensure SSH root login is disabled (PermitRootLogin yes)",
      "Stderr: 1 control failed; hardening-cis exited with code 1",
    ],
  });
  await tick(other.name, "2027-01-05T07:30:00.000Z", "cron tick");
  await session.lambda.run(world.clock.now() + 40 * 60_000);

  timeline.heading(
    `11. ${other.name} is fixed and rebuilt. Its AMIs are SHARED by launch permission, not copied`,
  );
  timeline.note(
    "outputResources lists only the build account's AMIs; each target launches the build account's AMI of its region,",
  );
  timeline.note(
    "its snapshots are read as the build account, and each target creates the grant on the BUILD account's key",
  );
  await tick(other.name, "2027-01-05T09:00:00.000Z", "cron tick");
  await session.lambda.run(Date.parse("2027-01-05T12:30:00Z"));
  const rest = other.rollout?.waves.find((wave) => wave.approval === "manual");
  if (rest) {
    timeline.event(
      build,
      "operator",
      `npm run rollout -- approve ${other.name} ${rest.name}: ${JSON.stringify({ action: "approve", pipeline: other.name, wave: rest.name })}`,
    );
    await session.lambda.invokeAsync("watch-rollouts", session.handlers.watchRollouts, {
      action: "approve",
      pipeline: other.name,
      wave: rest.name,
      approvedBy: "demo",
    });
    await session.lambda.run(world.clock.now() + 60 * 60_000);
  }

  const count = (key: string) => world.callsTo(key, { succeeded: true }).length;
  const summary: DemoSummary = {
    starts: count("imagebuilder:StartImagePipelineExecution"),
    // Every configured pipeline's builds: a retried tick's call returns the build it started.
    builds: config.pipelines.reduce(
      (total, pipeline) => total + world.imageBuilder.imagesOf(pipeline.arn).length,
      0,
    ),
    grants: count("kms:CreateGrant"),
    templateVersions: count("ec2:CreateLaunchTemplateVersion"),
    refreshes: count("autoscaling:StartInstanceRefresh"),
    refreshesSucceeded: world.autoScaling.refreshes.filter(
      (refresh) => refresh.status === "Successful",
    ).length,
    awsCalls: world.calls.length - setupCalls,
    deadLetters: world.queues.deadLetter.messages.length,
  };
  print("");
  for (const line of summaryLines(summary)) print(line);
  const status = await printStatus();
  await session.close();
  return { summary, status };
};
