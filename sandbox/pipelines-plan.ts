import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { ConfigValidationError, parseConfig } from "../lib/config/load.ts";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { type BuildResult, startChangedBuilds } from "../lib/pipelines/build.ts";
import { loadDefinitions, type ManagedPipeline } from "../lib/pipelines/definitions.ts";
import { filesAt, gitCommitAt, resolveCommit } from "../lib/pipelines/git.ts";
import { type Plan, planDeploy } from "../lib/pipelines/plan.ts";
import type { Synthesized } from "../lib/pipelines/synth.ts";
import { assumeCiRole, buildSiteOf, CI_ROLE_NAME, sessionCredentials } from "./image-stack.ts";
import { installSandbox } from "./install.ts";
import { worldFromConfig } from "./world-from-config.ts";

/**
 * `npm run pipelines -- plan --stage <s> --sandbox`: the plan of the working tree's definitions,
 * against a sandbox where the definitions of the last commit (HEAD) are what is deployed. The
 * sandbox deploys the committed definitions' image stack (CloudFormation, as the CI role of
 * templates/ci-role.yml), builds each pipeline once as `build --changed` would for that commit,
 * then runs the same plan as against AWS (lib/pipelines/plan.ts: a change set created, read and
 * deleted, the pipelines' images read), as the CI role.
 */

export interface Baseline {
  /** The commit whose definitions are deployed, if there is one. */
  readonly commit?: string;
  readonly pipelines: readonly ManagedPipeline[];
  /** Why nothing is deployed, when nothing is. */
  readonly note?: string;
}

/** Start of the sandbox's clock: fixed, so a plan reads the same on every run. */
const START = "2026-11-23T09:00:00Z";

const parseAt = (text: string, file: string): OrchestratorConfig | string => {
  try {
    return parseConfig(text, file);
  } catch (error) {
    if (error instanceof ConfigValidationError)
      return `${file} at that commit does not validate (${error.problems.length} problem(s))`;
    throw error;
  }
};

/**
 * The managed pipelines as the commit `rev` defines them: its `pipelines/` and (when the config is
 * in the repository and committed) its config, loaded with the commits that last changed each file
 * as of `rev`.
 */
export const baselineAt = (
  root: string,
  configFile: string,
  workingConfig: OrchestratorConfig,
  rev = "HEAD",
): Baseline => {
  const commit = resolveCommit(root, rev);
  const files = filesAt(root, rev, "pipelines");
  if (!commit || !files)
    return { pipelines: [], note: `no commit ${rev} here: nothing deployed yet` };
  const configPath = relative(root, isAbsolute(configFile) ? configFile : join(root, configFile));
  const inRepository = !configPath.startsWith("..") && !isAbsolute(configPath);
  const committedConfig = inRepository
    ? filesAt(root, rev, configPath)?.get(configPath)
    : undefined;
  const config =
    committedConfig === undefined ? workingConfig : parseAt(committedConfig, configPath);
  if (typeof config === "string") return { commit, pipelines: [], note: config };
  const dir = mkdtempSync(join(tmpdir(), "pipelines-at-"));
  try {
    for (const [path, text] of files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const loaded = loadDefinitions({
      root: dir,
      config,
      configFile: configPath,
      ...(committedConfig === undefined
        ? { configText: readFileSync(configFile, "utf8") }
        : { configText: committedConfig }),
      commitOf: gitCommitAt(root, commit),
    });
    if (loaded.diagnostics.length > 0)
      return {
        commit,
        pipelines: [],
        note: `the definitions at ${commit.slice(0, 12)} do not validate (${loaded.diagnostics.length} problem(s)): nothing deployed`,
      };
    return { commit, pipelines: loaded.pipelines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export interface SandboxPlan {
  readonly baseline: Baseline;
  /** The builds made from the baseline (one per pipeline). */
  readonly builds: readonly BuildResult[];
  readonly plan: Plan;
}

export const planInSandbox = async (request: {
  readonly root: string;
  readonly configFile: string;
  readonly config: OrchestratorConfig;
  readonly stage: string;
  /** The working tree's stack, and its template as plan sends it. */
  readonly synthesized: Synthesized;
  readonly templateBody: string;
  readonly rev?: string;
}): Promise<SandboxPlan> => {
  const site = buildSiteOf(request.config);
  if (!site) throw new Error("no managed pipeline in the config: nothing to plan");
  const baseline = baselineAt(request.root, request.configFile, request.config, request.rev);
  const world = await worldFromConfig(request.config, {
    start: START,
    imageStack: { pipelines: baseline.pipelines, stage: request.stage },
  });
  const installed = installSandbox(world);
  try {
    // A CI job's clients: a fresh session of the CI role each time (one lasts an hour).
    const asCi = async () => {
      const credentials = sessionCredentials(await assumeCiRole(world, site));
      return {
        cloudFormation: new CloudFormationClient({ region: site.region, credentials }),
        imageBuilder: new ImagebuilderClient({ region: site.region, credentials }),
      };
    };
    // The committed definitions, built once for their commit as CI builds them on push.
    const builds = world.imageStack
      ? await startChangedBuilds(
          (await asCi()).imageBuilder,
          world.imageStack.synthesized.pipelines,
          baseline.commit ? { commit: baseline.commit } : {},
        )
      : [];
    world.clock.advance(3 * 3600_000);
    const plan = await planDeploy(await asCi(), request.synthesized, {
      stackName: request.synthesized.stackName,
      templateBody: request.templateBody,
    });
    return { baseline, builds, plan };
  } finally {
    installed.restore();
  }
};

/** What the sandbox stood for, before the plan itself. */
export const renderBaseline = (result: SandboxPlan, stackName: string): string[] => {
  const { baseline } = result;
  if (baseline.pipelines.length === 0)
    return [`sandbox: ${stackName} not deployed (${baseline.note ?? "no managed pipeline"})`];
  const built = result.builds
    .map((build) =>
      build.outcome === "started"
        ? `${build.pipeline} ${build.imageArn.split(":image/")[1] ?? build.imageArn}`
        : `${build.pipeline}: ${build.outcome}`,
    )
    .join(", ");
  return [
    `sandbox: ${stackName} deployed from the definitions at ${baseline.commit?.slice(0, 12) ?? "HEAD"} (as ${CI_ROLE_NAME}) and built once (${built}); the working tree's definitions planned against it:`,
  ];
};
