import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { type BuildResult, startChangedBuilds } from "../lib/pipelines/build.ts";
import { type Deployed, deployStack } from "../lib/pipelines/deploy.ts";
import { formatDiagnostic } from "../lib/pipelines/diagnostic.ts";
import { buildContext, gitCommitOf } from "../lib/pipelines/git.ts";
import { type Plan, planDeploy } from "../lib/pipelines/plan.ts";
import { synthesize } from "../lib/pipelines/synth.ts";
import { validateRepository } from "../lib/pipelines/validate-repository.ts";
import { assumeCiRole, type BuildSite, sessionCredentials } from "./image-stack.ts";
import type { SandboxWorld } from "./model/world.ts";

/**
 * The CI job of ci/github-actions.yml (and ci/gitlab-ci.yml) on a push to the main branch, in the
 * sandbox: validate, then plan, deploy and `build --changed`, each as `npm run pipelines` does it
 * (the same lib/pipelines code), with a fresh session of the CI role (templates/ci-role.yml) and
 * the clone's commit, ref and repository. The sandbox must be installed (install.ts). A
 * validation problem stops the job before any AWS call, as the workflow's first step does.
 */

export interface CiJobResult {
  /** `file:line:col: message`, one per problem; the job stopped there when any. */
  readonly problems: readonly string[];
  readonly plan?: Plan;
  readonly deployed?: Deployed;
  readonly builds?: readonly BuildResult[];
}

export const runCiJob = async (
  world: SandboxWorld,
  job: {
    readonly root: string;
    readonly configFile: string;
    readonly stage: string;
    readonly site: BuildSite;
    /** `validate` only (a push to another branch), or the whole job (main). */
    readonly steps: "validate" | "all";
  },
): Promise<CiJobResult> => {
  const validated = validateRepository({
    root: job.root,
    configFile: job.configFile,
    commitOf: gitCommitOf(job.root),
  });
  const problems = validated.diagnostics.map(formatDiagnostic);
  if (problems.length > 0 || !validated.definitions || job.steps === "validate")
    return { problems };
  const synthesized = synthesize(validated.definitions.pipelines, job.stage);
  const templateBody = `${JSON.stringify(synthesized.template, null, 2)}\n`;
  const credentials = sessionCredentials(await assumeCiRole(world, job.site));
  const clients = {
    cloudFormation: new CloudFormationClient({ region: job.site.region, credentials }),
    imageBuilder: new ImagebuilderClient({ region: job.site.region, credentials }),
  };
  const plan = await planDeploy(clients, synthesized, {
    stackName: synthesized.stackName,
    templateBody,
  });
  const deployed = await deployStack({ cloudFormation: clients.cloudFormation }, synthesized, {
    templateBody,
    region: job.site.region,
  });
  const builds = await startChangedBuilds(
    clients.imageBuilder,
    synthesized.pipelines,
    buildContext(job.root, {}),
  );
  return { problems, plan, deployed, builds };
};
