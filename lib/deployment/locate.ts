import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { arnParts } from "../aws/arns.ts";
import { unknownRegionProblem } from "../config/regions.ts";
import { OrchestratorError } from "../errors.ts";

/**
 * Where a deployment of serverless.yml is, and what it is called: the operator commands (`npm
 * run rollout`, `npm run doctor`) take `--stage` and `--region` the same way, default them the
 * way `npx serverless deploy` does, and read the names CloudFormation gave the table and the
 * function from the stack's outputs (DescribeStacks), so nobody looks them up by hand.
 */

/** The outputs the commands read (serverless.yml `resources.Outputs`): rename one in both. */
export const STACK_OUTPUTS = {
  tableName: "StateTableName",
  watchRolloutsFunction: "WatchRolloutsFunctionName",
  alertsTopicArn: "AlertsTopicArn",
  failedEventsQueueUrl: "FailedEventsQueueUrl",
  rolloutQueueUrl: "RolloutQueueUrl",
} as const;
export type StackOutput = keyof typeof STACK_OUTPUTS;

/** One deployment: `<service>-<stage>` in a region (osls names the stack so: naming.js getStackName). */
export interface DeploymentSite {
  readonly service: string;
  readonly stage: string;
  readonly region: string;
}

export const stackNameOf = (site: DeploymentSite): string => `${site.service}-${site.stage}`;

/**
 * The defaults `npx serverless deploy` would use, read from serverless.yml: its service, and the
 * fallbacks of `provider.stage` and `provider.region` (`${opt:stage, 'dev'}`: `dev` unless
 * --stage). Without the key, osls's own defaults: stage `dev`, region `us-east-1` (osls
 * lib/plugins/aws/provider.js getStage, getRegion). Like osls, the environment (AWS_REGION,
 * AWS_DEFAULT_REGION, a profile's region) plays no part: the commands find the stack deploy made.
 */
export interface DeploymentDefaults {
  readonly service: string;
  readonly stage: string;
  readonly region: string;
}

const optionDefault = (key: string, value: unknown, osls: string): string => {
  if (value === undefined) return osls;
  if (typeof value !== "string")
    throw new Error(`serverless.yml provider.${key}: expected a string, found ${typeof value}`);
  if (!value.includes("${")) return value;
  const match = new RegExp(`^\\$\\{opt:${key},\\s*(['"])([^'"]+)\\1\\s*\\}$`).exec(value);
  if (!match?.[2])
    throw new Error(
      `serverless.yml provider.${key}: cannot read a default from ${value} (expected \${opt:${key}, '<default>'})`,
    );
  return match[2];
};

export const deploymentDefaults = (serverlessYml: Record<string, unknown>): DeploymentDefaults => {
  const provider = (serverlessYml.provider ?? {}) as Record<string, unknown>;
  const service = serverlessYml.service;
  if (typeof service !== "string" || !service) throw new Error("serverless.yml: no service name");
  return {
    service,
    stage: optionDefault("stage", provider.stage, "dev"),
    region: optionDefault("region", provider.region, "us-east-1"),
  };
};

/** The options every operator command takes, for `node:util` parseArgs. */
export const SITE_OPTIONS = {
  stage: { type: "string" },
  region: { type: "string" },
} as const;

/** A usage line for the options, with the defaults they fall back to. */
export const siteUsage = (defaults: DeploymentDefaults): string =>
  `--stage <stage> (default ${defaults.stage}) --region <region> (default ${defaults.region}): the stack ${defaults.service}-<stage> that npx serverless deploy --stage <stage> --region <region> created; AWS_REGION is not read`;

/** A command line's site: its --stage and --region, else the defaults. */
export const resolveSite = (
  options: { readonly stage?: string | undefined; readonly region?: string | undefined },
  defaults: DeploymentDefaults,
): DeploymentSite => {
  const site = {
    service: defaults.service,
    stage: options.stage ?? defaults.stage,
    region: options.region ?? defaults.region,
  };
  const problem = unknownRegionProblem(site.region);
  if (problem) throw new SiteError(`--region: ${problem}`);
  // osls: "Stage name should only contain alphanumeric characters and hyphens" (provider.js
  // validateStage); a stack name allows the same (CloudFormation API reference, CreateStack).
  if (!/^[a-zA-Z0-9-]+$/.test(site.stage))
    throw new SiteError(`--stage ${site.stage}: only letters, digits and hyphens, as for deploy`);
  return site;
};

/** A stage or region no deployment can have: a usage error. */
export class SiteError extends OrchestratorError {}

/** No stack of that name in that region (never deployed, another stage, another region). */
export class DeploymentNotFoundError extends OrchestratorError {
  constructor(
    readonly site: DeploymentSite,
    cause?: unknown,
  ) {
    super(
      `no stack ${stackNameOf(site)} in ${site.region}: deploy it first, or pass --stage/--region`,
      { cause },
    );
  }
}

/** The stack exists but lacks an output the command needs (deployed from an older serverless.yml). */
export class DeploymentOutputMissingError extends OrchestratorError {}

export interface Deployment extends DeploymentSite {
  readonly stackName: string;
  readonly stackId: string;
  readonly accountId: string;
  readonly partition: string;
  readonly status: string;
  /** OutputKey → OutputValue. */
  readonly outputs: Readonly<Record<string, string>>;
}

/**
 * DescribeStacks on `<service>-<stage>` in the client's region. A stack that does not exist is a
 * `ValidationError` "Stack with id <name> does not exist" (API reference, DescribeStacks: "If the
 * stack doesn't exist, a ValidationError is returned"; the message as AWS answers it, e.g.
 * realestate-com-au/stackup#27, convox/rack#2572): DeploymentNotFoundError. Any other error is
 * the caller's to show (AccessDenied: the operator lacks cloudformation:DescribeStacks).
 */
export const locateDeployment = async (
  cloudformation: CloudFormationClient,
  site: DeploymentSite,
): Promise<Deployment> => {
  const stackName = stackNameOf(site);
  const describe = async () => {
    try {
      return await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    } catch (error) {
      if (
        error instanceof Error &&
        error.name === "ValidationError" &&
        /does not exist/.test(error.message)
      )
        throw new DeploymentNotFoundError(site, error);
      throw error;
    }
  };
  const stack = (await describe()).Stacks?.[0];
  if (!stack?.StackId) throw new DeploymentNotFoundError(site);
  const { partition, accountId } = arnParts(stack.StackId);
  return {
    ...site,
    stackName,
    stackId: stack.StackId,
    accountId,
    partition,
    status: stack.StackStatus ?? "unknown",
    outputs: Object.fromEntries(
      (stack.Outputs ?? []).flatMap((output) =>
        output.OutputKey && output.OutputValue !== undefined
          ? [[output.OutputKey, output.OutputValue]]
          : [],
      ),
    ),
  };
};

/** One of the outputs the commands read; a clear error when the stack predates it. */
export const stackOutput = (deployment: Deployment, output: StackOutput): string => {
  const key = STACK_OUTPUTS[output];
  const value = deployment.outputs[key];
  if (value) return value;
  throw new DeploymentOutputMissingError(
    `stack ${deployment.stackName} in ${deployment.region} (${deployment.status}) has no output ${key}: deploy this version of serverless.yml to it (npx serverless deploy --stage ${deployment.stage} --region ${deployment.region})`,
  );
};

/** The line every command prints first (to stderr): which deployment it talks to. */
export const deploymentLine = (deployment: Deployment): string =>
  `${deployment.service}: stage ${deployment.stage}, region ${deployment.region}, account ${deployment.accountId}, stack ${deployment.stackName}`;
