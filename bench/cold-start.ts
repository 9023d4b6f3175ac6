/**
 * Cold start per function, as ratios measured in one run: the time a fresh Node process takes to
 * import a function's module (building its logger, metrics and middleware), for
 *   - the production bundle (esbuild, ESM, minified, tree-shaken, as serverless.yml builds it),
 *   - the floor: a minimal ESM bundle that imports and constructs only the SDK clients it uses,
 *   - the same handler unbundled, resolving its dependencies from node_modules at run time (what
 *     many projects ship).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

export const FUNCTIONS: Record<string, readonly string[]> = {
  "start-pipelines": ["client-imagebuilder:ImagebuilderClient", "client-sqs:SQSClient"],
  "on-image-state": [
    "client-imagebuilder:ImagebuilderClient",
    "client-sqs:SQSClient",
    "client-dynamodb:DynamoDBClient",
  ],
  "roll-out-target": [
    "client-auto-scaling:AutoScalingClient",
    "client-ec2:EC2Client",
    "client-kms:KMSClient",
    "client-iam:IAMClient",
    "client-sts:STSClient",
    "client-sqs:SQSClient",
    "client-dynamodb:DynamoDBClient",
  ],
  "watch-rollouts": [
    "client-auto-scaling:AutoScalingClient",
    "client-ec2:EC2Client",
    "client-sts:STSClient",
    "client-sqs:SQSClient",
    "client-dynamodb:DynamoDBClient",
  ],
  alerts: [
    "client-imagebuilder:ImagebuilderClient",
    "client-cloudwatch-logs:CloudWatchLogsClient",
    "client-sns:SNSClient",
    "client-ssm:SSMClient",
    "client-dynamodb:DynamoDBClient",
  ],
};

const OPTIONS = {
  bundle: true,
  minify: true,
  treeShaking: true,
  format: "esm" as const,
  platform: "node" as const,
  target: "node20",
  mainFields: ["module", "main"],
  // As serverless.yml: the packaged JSON config, no YAML parser.
  conditions: ["lambda"],
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: "error" as const,
};

export interface Variant {
  /** `floor-again` is the floor measured a second time: the run's own noise. */
  readonly name: "bundle" | "floor" | "floor-again" | "unbundled";
  readonly file: string;
  readonly bytes: number;
}

/** Builds the three variants of one function into `dir`. */
export const buildVariants = async (fn: string, dir: string): Promise<Variant[]> => {
  mkdirSync(dir, { recursive: true });
  const root = resolve(import.meta.dirname, "..");
  const bundle = join(dir, `${fn}.bundle.mjs`);
  await build({ ...OPTIONS, entryPoints: [join(root, `functions/${fn}.ts`)], outfile: bundle });
  const floorEntry = join(dir, `${fn}.floor-entry.mjs`);
  const clients = FUNCTIONS[fn] ?? [];
  writeFileSync(
    floorEntry,
    `${clients.map((spec, i) => `import { ${spec.split(":")[1]} as C${i} } from "@aws-sdk/${spec.split(":")[0]}";`).join("\n")}
export const clients = [${clients.map((_, i) => `new C${i}({ region: "eu-west-1" })`).join(", ")}];
`,
  );
  const floor = join(dir, `${fn}.floor.mjs`);
  await build({
    ...OPTIONS,
    entryPoints: [floorEntry],
    outfile: floor,
    nodePaths: [join(root, "node_modules")],
  });
  // Only our code transpiled; every package resolved from node_modules when imported.
  const unbundled = join(root, ".bench", `${fn}.unbundled.mjs`);
  await build({
    ...OPTIONS,
    minify: false,
    packages: "external",
    entryPoints: [join(root, `functions/${fn}.ts`)],
    outfile: unbundled,
  });
  return [
    { name: "bundle", file: bundle, bytes: statSync(bundle).size },
    { name: "floor", file: floor, bytes: statSync(floor).size },
    { name: "floor-again", file: floor, bytes: statSync(floor).size },
    { name: "unbundled", file: unbundled, bytes: statSync(unbundled).size },
  ];
};

/** Milliseconds to import `file` in a fresh Node process (module evaluation included). */
export const importTime = (file: string): number => {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: {
      ...process.env,
      AWS_REGION: "eu-west-1",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    encoding: "utf8",
  });
  return Number(output.trim().split("\n").at(-1));
};

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** Interleaves the variants' runs so drift in machine load affects them alike. */
export const measure = (variants: readonly Variant[], runs: number): Record<string, number> => {
  const times: Record<string, number[]> = Object.fromEntries(
    variants.map((variant) => [variant.name, []]),
  );
  for (let run = 0; run < runs; run += 1) {
    for (const variant of variants) times[variant.name]?.push(importTime(variant.file));
  }
  return Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
};
