import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import type { DoctorReport } from "../../lib/doctor/checks.ts";
import { runDoctor } from "../../lib/operator/doctor-command.ts";
import { runRollout } from "../../lib/operator/rollout-command.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { CloudFormationStacksModel } from "../../sandbox/model/cloudformation-stacks.ts";
import { sandboxOperatorDeps } from "../../sandbox/operator.ts";
import { repoPath } from "../helpers/fixtures.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const BUILD = "999999999999";
const BASE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023";
/** The sandbox deploys serverless.yml with --stage sandbox in the config's region, eu-west-1. */
const HERE = ["--stage", "sandbox", "--region", "eu-west-1"];
const BANNER =
  "ami-orchestrator: stage sandbox, region eu-west-1, account 999999999999, stack ami-orchestrator-sandbox";

/**
 * The operator commands against the sandbox's deployment: they find the stack by --stage and
 * --region (serverless.yml's defaults otherwise), say which one first, read the table and the
 * function from its outputs, and a stack that is not there gets one line and exit 1.
 */
describe("operator commands find the deployment from the stack's outputs", () => {
  // Each pipeline has built an image (its notification not yet delivered): the doctor's checks
  // can all run, and the rollouts start once the Lambda service runs.
  const sandbox = sandboxSuite(undefined, { start: "2026-11-23T01:59:00Z" }, async (session) => {
    for (const pipeline of session.world.imageBuilder.pipelines.values())
      await session.handlers.startPipelines(
        { pipeline: pipeline.name, scheduledTime: "2026-11-23T02:00:00Z" },
        fakeContext("start-pipelines"),
      );
    session.world.clock.advance(45 * 60_000);
  });
  const deps = () => sandboxOperatorDeps(sandbox.session, repoPath("config/orchestrator.yml"));
  const describeStacksCalls = () => sandbox.session.world.callsTo("cloudformation:DescribeStacks");

  it("doctor: the stack's watch-rollouts function runs the checks, after one line saying where", async () => {
    const io = deps();
    const status = await runDoctor([...HERE, "--json"], io);
    const report = JSON.parse(io.stdout.join("\n")) as DoctorReport;
    assert.equal(status, 0, "the sandbox as deployed passes every check");
    assert.ok(report.ok && report.passed > 0 && report.pipelines.length > 0);
    assert.deepEqual(io.stderr, [BANNER], "stdout is the JSON alone");
  });

  it("status: the table named by the stack's StateTableName output, newest rollout first", async () => {
    const { world, lambda } = sandbox.session;
    assert.ok(world.imageBuilder.imagesOf(BASE).at(-1));
    await lambda.run(Date.parse("2026-11-23T06:00:00Z"));

    const io = deps();
    const calls = describeStacksCalls().length;
    assert.equal(await runRollout(["status", "base-al2023", ...HERE], io), 0);
    assert.equal(io.stderr[0], BANNER);
    assert.match(io.stdout.join("\n"), /base-al2023\/1\.0\.\d+\/\d+ {2}base-al2023 {2}SUCCEEDED/);
    assert.equal(describeStacksCalls().length, calls + 1, "one DescribeStacks");
  });

  it("rollback: invokes the function the stack's WatchRolloutsFunctionName output names", async () => {
    const io = deps();
    assert.equal(await runRollout(["rollback", "base-al2023", ...HERE], io), 0);
    assert.deepEqual(io.stderr, [BANNER]);
    const outcome = JSON.parse(io.stdout.join("\n")) as { groups: Array<{ status: string }> };
    assert.ok(outcome.groups.length > 0);
    assert.ok(outcome.groups.every((group) => group.status === "rollback-started"));
  });

  it("approve: the same function, with the wave and who approved", async () => {
    const { lambda } = sandbox.session;
    // web-ubuntu2404's canary has baked; its "rest" wave waits for an approval.
    const io = deps();
    assert.equal(
      await runRollout(["approve", "web-ubuntu2404", "rest", ...HERE], io),
      0,
      io.stderr.join("\n"),
    );
    assert.deepEqual(io.stderr, [BANNER]);
    const outcome = JSON.parse(io.stdout.join("\n")) as {
      pipeline: string;
      decision: { action: string };
    };
    assert.equal(outcome.pipeline, "web-ubuntu2404");
    assert.equal(outcome.decision.action, "dispatch", "the approved wave is sent");
    await lambda.run(Date.parse("2026-11-23T09:00:00Z"));
    const status = deps();
    await runRollout(["status", "web-ubuntu2404", ...HERE], status);
    assert.match(status.stdout.join("\n"), /web-ubuntu2404 {2}SUCCEEDED/);
  });

  for (const [name, argv] of [
    ["status", ["status"]],
    ["approve", ["approve", "base-al2023", "prod"]],
    ["rollback", ["rollback", "base-al2023"]],
    ["doctor", []],
  ] as const) {
    it(`${name}: a stage never deployed is one clear line and exit 1`, async () => {
      const io = deps();
      const run = name === "doctor" ? runDoctor : runRollout;
      assert.equal(await run([...argv, "--stage", "prod", "--region", "eu-west-1"], io), 1);
      assert.deepEqual(io.stderr, [
        "no stack ami-orchestrator-prod in eu-west-1: deploy it first, or pass --stage/--region",
      ]);
      assert.deepEqual(io.stdout, []);
    });
  }

  it("a wrong region is the same case: the stack is regional", async () => {
    const io = deps();
    assert.equal(
      await runRollout(
        ["rollback", "base-al2023", "--stage", "sandbox", "--region", "eu-west-3"],
        io,
      ),
      1,
    );
    assert.deepEqual(io.stderr, [
      "no stack ami-orchestrator-sandbox in eu-west-3: deploy it first, or pass --stage/--region",
    ]);
    const [last] = describeStacksCalls().slice(-1);
    assert.equal(last?.region, "eu-west-3");
    assert.equal(last?.error, "ValidationError");
  });

  it("without --stage and --region: serverless.yml's defaults (dev, eu-west-1), whatever AWS_REGION says", async () => {
    const previous = process.env.AWS_REGION;
    process.env.AWS_REGION = "eu-west-3";
    try {
      const io = deps();
      assert.equal(await runDoctor([], io), 1);
      assert.deepEqual(io.stderr, [
        "no stack ami-orchestrator-dev in eu-west-1: deploy it first, or pass --stage/--region",
      ]);
      assert.equal(describeStacksCalls().at(-1)?.region, "eu-west-1");
    } finally {
      process.env.AWS_REGION = previous;
    }
  });

  it("a stack deployed before the output existed: says which output, and how to get it", async () => {
    const { world } = sandbox.session;
    const key = CloudFormationStacksModel.key(BUILD, "eu-west-1", "ami-orchestrator-sandbox");
    const stack = world.cloudformationStacks.stacks.get(key);
    assert.ok(stack);
    world.cloudformationStacks.stacks.set(key, {
      ...stack,
      outputs: stack.outputs.filter((output) => output.OutputKey !== "WatchRolloutsFunctionName"),
    });
    try {
      const io = deps();
      assert.equal(await runRollout(["rollback", "base-al2023", ...HERE], io), 1);
      assert.deepEqual(io.stderr, [
        BANNER,
        "stack ami-orchestrator-sandbox in eu-west-1 (CREATE_COMPLETE) has no output WatchRolloutsFunctionName: deploy this version of serverless.yml to it (npx serverless deploy --stage sandbox --region eu-west-1)",
      ]);
    } finally {
      world.cloudformationStacks.stacks.set(key, stack);
    }
  });

  it("--function overrides the output; a function that is not there is Lambda's own error", async () => {
    const io = deps();
    assert.equal(
      await runRollout(["rollback", "base-al2023", ...HERE, "--function", "nope"], io),
      1,
    );
    assert.deepEqual(io.stderr, [
      BANNER,
      `ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:${BUILD}:function:nope`,
    ]);
  });

  it("credentials without cloudformation:DescribeStacks: AWS's refusal, and where the permissions are", async () => {
    const { world } = sandbox.session;
    // CloudFormation (a query-protocol service) answers a denial as AccessDenied.
    world.faults.add({
      service: "cloudformation",
      operation: "DescribeStacks",
      times: 1,
      error: {
        name: "AccessDenied",
        message: `User: arn:aws:iam::${BUILD}:user/oncall is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1:${BUILD}:stack/ami-orchestrator-sandbox/*`,
        httpStatusCode: 403,
      },
    });
    const io = deps();
    assert.equal(await runRollout(["status", ...HERE], io), 1);
    assert.equal(io.stderr.length, 1);
    assert.match(
      io.stderr[0] ?? "",
      /^AccessDenied: User: .* is not authorized to perform: cloudformation:DescribeStacks/,
    );
    assert.match(io.stderr[0] ?? "", /docs\/operating\.md, "Permissions"/);
  });

  it("a region no partition has is a usage error, with the near ones (exit 2, nothing called)", async () => {
    const io = deps();
    const calls = describeStacksCalls().length;
    assert.equal(await runRollout(["status", "--region", "eu-west3"], io), 2);
    assert.match(
      io.stderr[0] ?? "",
      /^--region: unknown region eu-west3 \(did you mean eu-west-3\?\)/,
    );
    assert.equal(describeStacksCalls().length, calls);
  });
});

describe("operator commands' usage", () => {
  const run = (script: string, ...args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", repoPath(script), ...args], {
      cwd: repoPath(""),
      env: { ...process.env, NO_COLOR: "1" },
      timeout: 60_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  it("a bare npm run rollout prints the usage to stderr and exits 2", async () => {
    const { code, stdout, stderr } = await run("scripts/rollout.ts");
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /^name a command: status, approve or rollback\nusage:\n {2}npm run rollout -- status/,
    );
    assert.match(stderr, /--stage <stage> \(default dev\) --region <region> \(default eu-west-1\)/);
  });

  it("--help prints it to stdout, exit 0; an unknown command or option is exit 2", async () => {
    assert.equal((await run("scripts/rollout.ts", "--help")).code, 0);
    assert.equal((await run("scripts/rollout.ts", "deploy")).code, 2);
    const unknown = await run("scripts/doctor.ts", "--stag", "prod");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown option '--stag'/);
  });
});
