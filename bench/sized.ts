/**
 * `npm run bench -- --targets <n> [--waves <w>] [--max-wall-minutes <m>] --json`: one rollout
 * through the sandbox, printed as one JSON object (human-readable lines without `--json`).
 * `npm run bench -- --smoke`: a small rollout that CI runs; it fails (exit 1) when a field is
 * missing or the rollout did not succeed everywhere.
 */
import { parseArgs } from "node:util";
import type { RolloutBenchResult } from "./rollout.ts";

export interface SizedBench {
  readonly targets: number;
  readonly waves: number;
  readonly json: boolean;
  readonly smoke: boolean;
  readonly maxWallMinutes?: number;
}

/** The smoke size: two waves of two accounts × two regions, well under a minute on 2 cores. */
export const SMOKE = { targets: 8, waves: 2 } as const;

/** The fields the JSON object always has (the and DESIGN.md's contract). */
export const REQUIRED_FIELDS = [
  "targets",
  "groups",
  "awsCalls",
  "awsCallsPerTarget",
  "dynamoItemsRead",
  "dynamoItemsReadPerTarget",
  "dynamoItemsWritten",
  "largestItemBytes",
  "throttled",
  "failedForGood",
  "cpuMs",
  "wallMs",
  "peakRssMb",
] as const satisfies ReadonlyArray<keyof RolloutBenchResult>;

const positive = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new Error(`--${name} must be a positive number, got "${value}"`);
  return number;
};

/** The sized bench asked for on the command line, or undefined for the full `npm run bench`. */
export const sizedBenchArgs = (argv: readonly string[]): SizedBench | undefined => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      targets: { type: "string" },
      waves: { type: "string" },
      "max-wall-minutes": { type: "string" },
      json: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.smoke && values.targets === undefined) {
    if (values.waves !== undefined || values.json)
      throw new Error("--waves and --json need --targets <n> (or --smoke)");
    return undefined;
  }
  const targets = values.smoke ? SMOKE.targets : positive("targets", values.targets);
  if (!targets || !Number.isInteger(targets))
    throw new Error(`--targets must be a positive integer, got "${values.targets}"`);
  const waves = positive("waves", values.waves) ?? (values.smoke ? SMOKE.waves : 1);
  if (!Number.isInteger(waves)) throw new Error(`--waves must be an integer, got "${waves}"`);
  const maxWallMinutes = positive("max-wall-minutes", values["max-wall-minutes"]);
  return {
    targets,
    waves,
    json: values.json,
    smoke: values.smoke,
    ...(maxWallMinutes !== undefined ? { maxWallMinutes } : {}),
  };
};

/** What is wrong with a smoke result: missing fields, or a rollout that did not succeed. */
export const smokeProblems = (result: Record<string, unknown>): string[] => [
  ...REQUIRED_FIELDS.filter(
    (field) => typeof result[field] !== "number" || !Number.isFinite(result[field]),
  ).map((field) => `field ${field} is missing or not a number (${String(result[field])})`),
  ...(result.failedForGood === 0 ? [] : [`failedForGood is ${String(result.failedForGood)}`]),
  ...(result.status === "succeeded" ? [] : [`the rollout ended ${String(result.status)}`]),
  ...(result.groups === Number(result.targets) * 3
    ? []
    : [`${String(result.groups)} groups for ${String(result.targets)} targets, not 3 each`]),
];

/** Runs the sized bench; returns the process exit code. */
export const runSizedBench = async (bench: SizedBench): Promise<number> => {
  const { benchRollout } = await import("./rollout.ts");
  const result = await benchRollout(bench);
  if (bench.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else
    for (const [key, value] of Object.entries(result))
      process.stdout.write(
        `${key}: ${typeof value === "number" ? value.toLocaleString("en") : value}\n`,
      );
  if (!bench.smoke) return 0;
  const problems = smokeProblems(result as unknown as Record<string, unknown>);
  for (const problem of problems) process.stderr.write(`bench smoke: ${problem}\n`);
  return problems.length === 0 ? 0 : 1;
};
