/**
 * Image pipelines as code (docs/pipelines.md).
 *
 *   npm run pipelines -- validate [files…]            the config and every definition, offline;
 *                                                     given files, those (AWSTOE documents alone)
 *   npm run pipelines -- synth --stage <s>            writes the image stack's template, prints its path
 *   npm run pipelines -- plan --stage <s> [--sandbox] what a deploy would change (a change set, deleted);
 *                                                     --sandbox: against the local sandbox, where the
 *                                                     last commit's definitions are deployed
 *   npm run pipelines -- deploy --stage <s>           uploads, creates and executes the change set
 *   npm run pipelines -- build --stage <s> --changed  starts the pipelines whose inputs changed
 *   npm run pipelines -- schema                       rewrites schemas/pipeline.schema.json
 *
 * The config is ORCHESTRATOR_CONFIG or config/orchestrator.yml; definitions are pipelines/<folder>
 * below the current directory (the repository root). AWS calls go to the managed pipelines' build
 * region (config `region`; `--region`, like the other operator commands take it, must agree) with
 * the SDK's usual credentials. Exit status: 0 done, 1 problems found or a call failed, 2 usage.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../lib/aws/clients.ts";
import { configPath } from "../lib/config/path.ts";
import { renderBuildResult, startChangedBuilds } from "../lib/pipelines/build.ts";
import type { LoadedDefinitions } from "../lib/pipelines/definitions.ts";
import { deployStack } from "../lib/pipelines/deploy.ts";
import { formatDiagnostic } from "../lib/pipelines/diagnostic.ts";
import { buildContext, gitCommitOf } from "../lib/pipelines/git.ts";
import { PIPELINE_SCHEMA_FILE, pipelineJsonSchemaText } from "../lib/pipelines/json-schema.ts";
import { stageProblem, templateFileName } from "../lib/pipelines/names.ts";
import { planDeploy, renderPlan } from "../lib/pipelines/plan.ts";
import { type Synthesized, synthesize } from "../lib/pipelines/synth.ts";
import { validateFiles, validateRepository } from "../lib/pipelines/validate-repository.ts";

const USAGE = `usage:
  npm run pipelines -- validate [files…]
  npm run pipelines -- synth --stage <stage>
  npm run pipelines -- plan --stage <stage> [--sandbox]
  npm run pipelines -- deploy --stage <stage> [--template-bucket <bucket[/prefix]>]
  npm run pipelines -- build --stage <stage> --changed
  npm run pipelines -- schema`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    stage: { type: "string", default: "dev" },
    region: { type: "string" },
    sandbox: { type: "boolean", default: false },
    changed: { type: "boolean", default: false },
    "template-bucket": { type: "string" },
    help: { type: "boolean", default: false },
  },
});
const [command, ...files] = positionals;
const root = process.cwd();
const usage = (message: string): never => {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
};

let definitions: LoadedDefinitions | undefined;
const validated = (): LoadedDefinitions => {
  if (definitions) return definitions;
  const result = validateRepository({
    root,
    configFile: configPath(),
    commitOf: gitCommitOf(root),
  });
  for (const diagnostic of result.diagnostics) console.error(formatDiagnostic(diagnostic));
  if (result.diagnostics.length > 0 || !result.definitions) {
    console.error(`${result.diagnostics.length} problem(s): nothing synthesized or deployed`);
    process.exit(1);
  }
  definitions = result.definitions;
  return definitions;
};

const synthesized = (): { synthesized: Synthesized; path: string; body: string } => {
  const problem = stageProblem(values.stage);
  if (problem) usage(problem);
  const { pipelines } = validated();
  if (pipelines.length === 0) {
    console.error(
      `no managed pipeline in ${relative(root, configPath())}: nothing to synthesize (docs/pipelines.md)`,
    );
    process.exit(1);
  }
  const result = synthesize(pipelines, values.stage);
  const body = `${JSON.stringify(result.template, null, 2)}\n`;
  const dir = join(root, ".pipelines");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, templateFileName(values.stage));
  writeFileSync(path, body);
  for (const asset of result.assets) {
    const file = join(dir, "assets", asset.bucket, asset.key);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, asset.body);
  }
  return { synthesized: result, path: relative(root, path), body };
};

/** The managed pipelines' build region: where the image stack lives. */
const buildRegion = (): string => {
  const { pipelines } = validated();
  const region = pipelines[0]?.config.region ?? usage("no managed pipeline in the config");
  if (values.region && values.region !== region) {
    usage(
      `--region ${values.region}: the managed pipelines are built in ${region} (config \`region\`), where their stack lives`,
    );
  }
  return region;
};

if (values.help || !command) {
  console.log(USAGE);
} else if (command === "validate") {
  const diagnostics =
    files.length > 0
      ? validateFiles(files, { root, configFile: configPath() })
      : validateRepository({ root, configFile: configPath() }).diagnostics;
  for (const diagnostic of diagnostics) console.error(formatDiagnostic(diagnostic));
  if (diagnostics.length > 0) {
    console.error(`${diagnostics.length} problem(s)`);
    process.exit(1);
  }
  console.log(
    files.length > 0 ? `${files.length} file(s) valid` : "all pipeline definitions valid",
  );
} else if (command === "synth") {
  const { synthesized: result, path } = synthesized();
  for (const pipeline of result.pipelines) {
    console.error(`${pipeline.name}: input ${pipeline.inputHash.slice(0, 16)}`);
  }
  if (result.assets.length > 0) {
    console.error(
      `${result.assets.length} component document(s) to upload (deploy does): .pipelines/assets/`,
    );
  }
  console.log(path);
} else if (command === "plan" && values.sandbox) {
  // Against the local sandbox: the last commit's definitions deployed and built, then the plan.
  const region = buildRegion();
  const { synthesized: result, body } = synthesized();
  const { planInSandbox, renderBaseline } = await import("../sandbox/pipelines-plan.ts");
  const { loadConfig } = await import("../lib/config/load.ts");
  console.error(`(region ${region}, no AWS account: the local sandbox)`);
  const planned = await planInSandbox({
    root,
    configFile: configPath(),
    config: loadConfig(configPath()),
    stage: values.stage,
    synthesized: result,
    templateBody: body,
  });
  for (const line of renderBaseline(planned, result.stackName)) console.log(line);
  for (const line of renderPlan(planned.plan)) console.log(line);
} else if (command === "plan") {
  const region = buildRegion();
  const { synthesized: result, body } = synthesized();
  const plan = await planDeploy(
    {
      cloudFormation: new CloudFormationClient(clientConfig({ region })),
      imageBuilder: new ImagebuilderClient(clientConfig({ region })),
    },
    result,
    { stackName: result.stackName, templateBody: body },
  );
  for (const line of renderPlan(plan)) console.log(line);
} else if (command === "deploy") {
  const region = buildRegion();
  const { synthesized: result, body } = synthesized();
  const deployed = await deployStack(
    {
      cloudFormation: new CloudFormationClient(clientConfig({ region })),
      s3: new S3Client(clientConfig({ region })),
    },
    result,
    {
      templateBody: body,
      region,
      ...(values["template-bucket"] ? { templateBucket: values["template-bucket"] } : {}),
    },
  );
  for (const url of deployed.uploaded) console.log(`uploaded ${url}`);
  console.log(
    deployed.executed
      ? `${result.stackName}: deployed (change set ${deployed.changeSet.changeSetName})`
      : `${result.stackName}: no changes`,
  );
} else if (command === "build") {
  if (!values.changed) usage("build starts changed pipelines only: pass --changed");
  const region = buildRegion();
  const { synthesized: result } = synthesized();
  const results = await startChangedBuilds(
    new ImagebuilderClient(clientConfig({ region })),
    result.pipelines,
    buildContext(root),
  );
  for (const line of results.map(renderBuildResult)) console.log(line);
  if (results.some((entry) => entry.outcome === "failed" || entry.outcome === "not-deployed")) {
    process.exit(1);
  }
} else if (command === "schema") {
  writeFileSync(join(root, PIPELINE_SCHEMA_FILE), pipelineJsonSchemaText());
  // In the repository's format, so `npm run lint` stays quiet about a generated file.
  execFileSync("npx", ["biome", "format", "--write", PIPELINE_SCHEMA_FILE], {
    cwd: root,
    stdio: "ignore",
  });
  console.log(PIPELINE_SCHEMA_FILE);
} else {
  usage(`unknown command ${command}`);
}
