/**
 * `npm run bench`: cold start, fan-out and calls per target, each as ratios measured in this
 * one run, written to bench/results.md with the method. Not part of `npm test`.
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildVariants, FUNCTIONS, measure } from "./cold-start.ts";

const root = resolve(import.meta.dirname, "..");
const runs = Number(process.env.BENCH_RUNS ?? 7);
const log = (text: string) => process.stderr.write(`${text}\n`);
const kb = (bytes: number) => `${Math.round(bytes / 1024)} KB`;
const ratio = (value: number) => `${value.toFixed(2)}×`;

// --- 1. Cold start ------------------------------------------------------------------------
const dir = join(tmpdir(), "ami-orchestrator-bench");
rmSync(dir, { recursive: true, force: true });
const coldRows: string[][] = [];
let worstColdRatio = 0;
let worstNoise = 0;
for (const fn of Object.keys(FUNCTIONS)) {
  log(`cold start: ${fn}`);
  const variants = await buildVariants(fn, dir);
  const times = measure(variants, runs);
  const size = Object.fromEntries(variants.map((variant) => [variant.name, variant.bytes]));
  const vsFloor = (times.bundle ?? 0) / (times.floor ?? 1);
  worstColdRatio = Math.max(worstColdRatio, vsFloor);
  const noise = Math.abs((times["floor-again"] ?? 0) / (times.floor ?? 1) - 1);
  worstNoise = Math.max(worstNoise, noise);
  coldRows.push([
    fn,
    `${(times.bundle ?? 0).toFixed(0)} ms`,
    `${(times.floor ?? 0).toFixed(0)} ms`,
    `${(times.unbundled ?? 0).toFixed(0)} ms`,
    ratio(vsFloor),
    `±${(noise * 100).toFixed(0)} %`,
    ratio((times.unbundled ?? 0) / (times.bundle ?? 1)),
    kb(size.bundle ?? 0),
    kb(size.floor ?? 0),
  ]);
}
rmSync(join(root, ".bench"), { recursive: true, force: true });

// --- 2 and 3. Fan-out and calls per target -------------------------------------------------
interface FanoutResult {
  targets: number;
  mode: string;
  wallMs: number;
  refreshes: number;
  calls: number;
  byOperation: Record<string, number>;
  duplicate: { calls: number; mutating: number };
}
const fanout = (targets: number, mode: "parallel" | "sequential", latencyMs = 50): FanoutResult => {
  log(`fan-out: ${targets} targets, ${mode}, ${latencyMs} ms per call`);
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", join(root, "bench/fanout.ts"), String(targets), mode, String(latencyMs)],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    },
  );
  return JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as FanoutResult;
};
const one = fanout(1, "parallel");
const ten = fanout(10, "parallel");
const fifty = fanout(50, "parallel");
const fiftySequential = fanout(50, "sequential");
// The same rollouts with no added latency: what the simulation itself costs in CPU.
const cpu = new Map(
  [one, ten, fifty].map((result) => [result.targets, fanout(result.targets, "parallel", 0).wallMs]),
);
const fanRows = [one, ten, fifty].map((result) => [
  String(result.targets),
  String(result.refreshes),
  `${result.wallMs.toFixed(0)} ms`,
  ratio(result.wallMs / one.wallMs),
  `${(cpu.get(result.targets) ?? 0).toFixed(0)} ms`,
]);
const fiftyVsOne = fifty.wallMs / one.wallMs;

const operations = Object.entries(one.byOperation).sort(([a], [b]) => a.localeCompare(b));
const perGroup = new Set([
  "ec2:DescribeLaunchTemplateVersions",
  "ec2:CreateLaunchTemplateVersion",
  "autoscaling:StartInstanceRefresh",
]);

const today = new Date().toISOString().slice(0, 10);
const results = `# Benchmarks

Measured by \`npm run bench\` on ${today}, on this machine (${cpus().length} cores, Node ${process.version}). Only
ratios between numbers of the same run are meaningful; absolute times depend on the machine.

## 1. Cold start

**Method.** Each function is built three ways with esbuild: the production bundle (ESM, minified,
tree-shaken, the whole SDK bundled, reading the packaged JSON config, as \`serverless.yml\`
builds it); the **floor**, a minimal ESM
bundle that only imports and constructs the SDK clients the function uses; and the same handler
**unbundled**, our code transpiled but every package resolved from \`node_modules\` at run time,
which is what many projects ship. Each variant is imported in a fresh Node process (module
evaluation included: the handler builds its logger, metrics and middleware at import, and its
clients on the first invocation). The median of ${runs} interleaved runs is reported.

| function | bundle | floor | unbundled | bundle / floor | noise (floor vs itself) | unbundled / bundle | bundle size | floor size |
| -------- | -----: | ----: | --------: | -------------: | ----------------------: | -----------------: | ----------: | ---------: |
${coldRows.map((row) => `| ${row.join(" | ")} |`).join("\n")}

**Target: within 1.15× of the floor. ${worstColdRatio <= 1.15 ? "Met." : worstColdRatio <= 1.15 + worstNoise ? `Met within this run's noise: the worst is ${ratio(worstColdRatio)}, and the same floor measured twice differs by up to ${(worstNoise * 100).toFixed(0)} %.` : `Not met: the worst is ${ratio(worstColdRatio)}.`}**
${
  worstColdRatio <= 1.15
    ? ""
    : `The gap is what the handler brings beyond the SDK clients (bundle size minus floor size):
Powertools logger, metrics and batch, middy, zod/mini for the trigger schemas, and our own code.
The config is already validated at package time and read as JSON, with no YAML parser and no
config schema loaded at cold start.`
}

## 2. Fan-out

**Method.** One AVAILABLE image is rolled out in the sandbox to N targets (account + region) × 3
Auto Scaling groups. Every AWS call is delayed by 50 ms of real time. DynamoDB is dynalite, with
no added delay. The rollout queue is consumed as Lambda's event source mapping would consume it:
batches of 10, up to 20 concurrent invocations (\`maximumConcurrency\` in \`serverless.yml\`). The
time measured is the wall time from the first roll-out-target invocation until every target's
refreshes are started, including the re-enqueued delivery after the grant-propagation delay
(simulated time, so the delay itself costs nothing). For comparison, the sequential loop over
targets that common sample solutions use is one target at a time.

| targets | refreshes started | wall time | vs 1 target | same rollout, 0 ms latency (simulation CPU) |
| ------: | ----------------: | --------: | ----------: | ------------------------------------------: |
${fanRows.map((row) => `| ${row.join(" | ")} |`).join("\n")}
| 50, sequential loop | ${fiftySequential.refreshes} | ${fiftySequential.wallMs.toFixed(0)} ms | ${ratio(fiftySequential.wallMs / one.wallMs)} | |

**Target: 50 targets within 1.5× of one. ${fiftyVsOne <= 1.5 ? "Met" : "Not met"} (${ratio(fiftyVsOne)}); the sequential loop takes ${ratio(fiftySequential.wallMs / fifty.wallMs)} as long as the fan-out.**
${
  fiftyVsOne <= 1.5
    ? ""
    : `The gap is the sandbox, not the fan-out. Fifty targets make 5 batches of 10, all in flight at
once, so the AWS latency overlaps: 50 targets take about as long with 50 ms per call as with no
latency at all (last column; the two differ by the noise of a shared machine). What remains is
CPU. In this one process, every invocation shares one Node event loop and an in-process DynamoDB, and each target costs about ${((cpu.get(50) ?? 0) / 50).toFixed(0)} ms of simulation
CPU (SDK middleware and signing, the models, dynalite). Lambda gives each invocation its own
CPU, so each batch of 10 would cost about what 10 targets cost here (${(cpu.get(10) ?? 0).toFixed(0)} ms at 0 ms latency),
not what 50 cost.`
}

## 3. AWS calls per target

**Method.** The calls made by roll-out-target for one target with 3 groups (from the 1-target run
above), then the calls made by a duplicate delivery of the same message once the target is done.

| call | count | per |
| ---- | ----: | --- |
${operations.map(([operation, count]) => `| \`${operation}\` | ${count} | ${perGroup.has(operation) ? "group (one per template)" : "target"} |`).join("\n")}
| **total** | **${one.calls}** | |

The minimum from DESIGN.md is met except where noted. Describe calls are batched: one
DescribeImages, one DescribeSnapshots for all snapshots, and paginated DescribeAutoScalingGroups
filtered by tag. There is one grant per (key, service-linked role), one template version per
template, and one refresh per group. \`sqs:SendMessage\` is the delayed re-enqueue that waits out
grant propagation. DescribeAutoScalingGroups runs once per delivery (${one.byOperation["autoscaling:DescribeAutoScalingGroups"] ?? 0} here), because groups can
change while the grant propagates. It is the only call made twice.

**Duplicate delivery: ${one.duplicate.calls} AWS calls, ${one.duplicate.mutating} mutating** (target: zero mutating). The finished target is recognised
from its DynamoDB record before any AWS call.
`;
writeFileSync(join(root, "bench/results.md"), results);
log("wrote bench/results.md");
// The built variants are only needed while measuring.
rmSync(dir, { recursive: true, force: true });
