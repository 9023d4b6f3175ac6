import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { OrchestratorConfig } from "../config/schema.ts";
import {
  type Deployment,
  type DeploymentDefaults,
  deploymentLine,
  locateDeployment,
  resolveSite,
  SiteError,
} from "../deployment/locate.ts";
import { OrchestratorError } from "../errors.ts";
import type { Invoke } from "./invoke.ts";

/** The AWS clients of one region the commands use (built by the script, faked by tests). */
export interface OperatorClients {
  readonly cloudformation: CloudFormationClient;
  readonly db: DynamoDBDocumentClient;
  readonly invoke: Invoke;
}

/** Everything an operator command needs from outside: the script builds it, tests fake it. */
export interface OperatorDeps {
  /** serverless.yml's service, stage and region defaults (lib/deployment/locate.ts). */
  readonly defaults: DeploymentDefaults;
  readonly clients: (region: string) => OperatorClients;
  readonly config: () => OrchestratorConfig;
  /** Results (stdout). */
  readonly out: (text: string) => void;
  /** Which deployment, errors and usage (stderr): `--json` output stays clean. */
  readonly err: (text: string) => void;
  /** Who asks (approvals and rollbacks record it). */
  readonly user: string;
}

/** Exit statuses: 0 done, 1 failed (no stack, a function error, checks failed), 2 usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The command line named something that cannot be: print it with the usage, exit 2. */
export class UsageError extends OrchestratorError {}

/**
 * Finds the deployment the command line names (`--stage`, `--region`, else serverless.yml's
 * defaults) and prints which one, before anything else, to stderr.
 */
export const connect = async (
  options: { readonly stage?: string | undefined; readonly region?: string | undefined },
  deps: OperatorDeps,
): Promise<{ deployment: Deployment; clients: OperatorClients }> => {
  let site: ReturnType<typeof resolveSite>;
  try {
    site = resolveSite(options, deps.defaults);
  } catch (error) {
    if (error instanceof SiteError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const clients = deps.clients(site.region);
  const deployment = await locateDeployment(clients.cloudformation, site);
  deps.err(deploymentLine(deployment));
  return { deployment, clients };
};

const ACCESS_DENIED = /AccessDenied|UnauthorizedOperation|not authorized/i;

/**
 * What a command prints when it fails, and its exit status: our own errors as they are (one
 * line), AWS's with their name, and a denial with where to find the permissions it needs.
 */
export const reportFailure = (error: unknown, deps: OperatorDeps, usage: string): number => {
  if (error instanceof UsageError) {
    deps.err(`${error.message}\n${usage}`);
    return EXIT.usage;
  }
  // No stack there, a stack without the output, a function that threw: one line each.
  if (error instanceof OrchestratorError) {
    deps.err(error.message);
    return EXIT.failed;
  }
  if (error instanceof Error) {
    const denied = ACCESS_DENIED.test(`${error.name} ${error.message}`);
    deps.err(
      `${error.name}: ${error.message}${denied ? '\n(the permissions each command needs: docs/operating.md, "Permissions")' : ""}`,
    );
    return EXIT.failed;
  }
  deps.err(String(error));
  return EXIT.failed;
};
