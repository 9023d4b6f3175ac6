import { fileURLToPath } from "node:url";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { changeSetNameFor } from "../lib/pipelines/change-set.ts";
import { isManaged, loadDefinitions, type ManagedPipeline } from "../lib/pipelines/definitions.ts";
import { formatDiagnostic } from "../lib/pipelines/diagnostic.ts";
import { type Synthesized, synthesize } from "../lib/pipelines/synth.ts";
import { deployImageStack, type ImageStackResult } from "./cloudformation/deploy-image-stack.ts";
import { readTemplate, TemplateResolver } from "./iam/cloudformation.ts";
import type { PolicyDocument, RolePolicies } from "./iam/policies.ts";
import type { SandboxWorld } from "./model/world.ts";

/**
 * The managed pipelines' image stack (docs/pipelines.md) as a platform team's CI deploys it: the
 * definitions synthesized with the config (lib/pipelines/synth.ts), then a CloudFormation change
 * set created and executed in the build account and region, as the CI role of
 * templates/ci-role.yml. So the pipeline, recipe, components and configurations exist in the
 * sandbox as CloudFormation made them, with the role's permissions checked on every call.
 *
 * The role's trust is `sts:AssumeRoleWithWebIdentity` from the CI provider's OIDC tokens, which
 * the sandbox does not model (no OIDC provider, no tokens): its session is issued by
 * `sts:AssumeRole` as the build account's administrator, which IAM does not check against the
 * trust policy. Everything the session then does is checked against the role's policies, read
 * from the template with the parameters docs/pipelines.md ("CI") gives it.
 */

const repoFile = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** This repository: where `pipelines/` is when a world is built from its config. */
export const REPOSITORY_ROOT = repoFile("");
export const CI_ROLE_TEMPLATE = repoFile("templates/ci-role.yml");

/** The role name templates/ci-role.yml defaults to. */
export const CI_ROLE_NAME = "ami-orchestrator-images-ci";

/** The OIDC session name a GitHub Actions job gets (aws-actions/configure-aws-credentials' default). */
export const CI_SESSION_NAME = "GitHubActions";

export interface BuildSite {
  readonly accountId: string;
  readonly region: string;
}

/** Where the managed pipelines are built (one stack per stage holds them all: config validation). */
export const buildSiteOf = (config: OrchestratorConfig): BuildSite | undefined => {
  const managed = config.pipelines.find(isManaged);
  return managed ? { accountId: managed.account, region: managed.region } : undefined;
};

/** The CI role as templates/ci-role.yml creates it in the build account for `stage`. */
export const ciRole = (site: BuildSite, stage: string, file = CI_ROLE_TEMPLATE): RolePolicies => {
  const parameters = {
    Stage: stage,
    RoleName: CI_ROLE_NAME,
    GitHubOidcProviderArn: `arn:aws:iam::${site.accountId}:oidc-provider/token.actions.githubusercontent.com`,
    GitHubRepository: "acme/images",
    BuildInstanceRoleArn: `arn:aws:iam::${site.accountId}:role/ami-orchestrator-image-builder`,
  };
  const template = readTemplate(file);
  const declared = template.Parameters as Record<string, { Default?: string }>;
  const resolver = new TemplateResolver(template, {
    ...site,
    stackName: "ami-orchestrator-images-ci",
    parameters: {
      ...Object.fromEntries(
        Object.entries(declared).map(([name, parameter]) => [name, parameter.Default ?? ""]),
      ),
      ...parameters,
    },
  });
  const properties = resolver.resource("CiRole");
  if (!properties) throw new Error(`${file}: no CiRole resource`);
  return {
    roleArn: `arn:aws:iam::${site.accountId}:role/${String(properties.RoleName)}`,
    trustPolicy: properties.AssumeRolePolicyDocument as PolicyDocument,
    policies: (
      properties.Policies as Array<{ PolicyName: string; PolicyDocument: PolicyDocument }>
    ).map((policy) => ({ name: policy.PolicyName, policy: policy.PolicyDocument })),
  };
};

/**
 * A session of the CI role (see above for why by AssumeRole): its access key id, for
 * `world.call` or an SDK client's credentials.
 */
export const assumeCiRole = async (world: SandboxWorld, site: BuildSite): Promise<string> => {
  world.sts.addRole({
    accountId: site.accountId,
    roleName: CI_ROLE_NAME,
    maxSessionDuration: 3600,
  });
  const { Credentials } = (await world.call({
    service: "sts",
    operation: "AssumeRole",
    accountId: site.accountId,
    region: site.region,
    input: {
      RoleArn: `arn:aws:iam::${site.accountId}:role/${CI_ROLE_NAME}`,
      RoleSessionName: CI_SESSION_NAME,
    },
  })) as { Credentials: { AccessKeyId: string } };
  return Credentials.AccessKeyId;
};

/** SDK client credentials for a sandbox session (install.ts routes by the access key id). */
export const sessionCredentials = (accessKeyId: string) => ({
  accessKeyId,
  secretAccessKey: "sandbox-assumed-secret",
  sessionToken: "sandbox-assumed-session",
});

/**
 * The config's managed pipelines, loaded from `root` (the repository holding `pipelines/`);
 * definitions that do not validate are refused with their diagnostics, as `npm run pipelines`
 * refuses them.
 */
export const loadManagedPipelines = (
  config: OrchestratorConfig,
  root: string,
  commitOf?: (paths: readonly string[]) => string | undefined,
): ManagedPipeline[] => {
  const loaded = loadDefinitions({
    root,
    config,
    configFile: "config",
    ...(commitOf ? { commitOf } : {}),
  });
  if (loaded.diagnostics.length > 0)
    throw new Error(
      `the managed pipelines' definitions do not validate:\n${loaded.diagnostics.map(formatDiagnostic).join("\n")}`,
    );
  return loaded.pipelines;
};

export interface DeployedImageStack {
  readonly site: BuildSite;
  readonly stage: string;
  readonly synthesized: Synthesized;
  readonly result: ImageStackResult;
}

/** Synthesizes `pipelines` and deploys their stack as `accessKeyId` (the CI role's session). */
export const deployManagedPipelines = async (
  world: SandboxWorld,
  pipelines: readonly ManagedPipeline[],
  options: { readonly site: BuildSite; readonly stage: string; readonly accessKeyId: string },
): Promise<DeployedImageStack> => {
  const synthesized = synthesize(pipelines, options.stage);
  const body = `${JSON.stringify(synthesized.template, null, 2)}\n`;
  const result = await deployImageStack(world, {
    accountId: options.site.accountId,
    region: options.site.region,
    stackName: synthesized.stackName,
    template: body,
    accessKeyId: options.accessKeyId,
    // The name plan and deploy give it (lib/pipelines/change-set.ts), which the CI role allows.
    changeSetName: changeSetNameFor(body),
  });
  if (!/_COMPLETE$/.test(result.status) || /ROLLBACK/.test(result.status))
    throw new Error(
      `the image stack ${synthesized.stackName} did not deploy: ${result.status} ${result.statusReason ?? ""}`,
    );
  return { site: options.site, stage: options.stage, synthesized, result };
};
