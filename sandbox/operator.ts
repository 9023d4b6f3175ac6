import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { Context } from "aws-lambda";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { loadConfig } from "../lib/config/load.ts";
import { deploymentDefaults } from "../lib/deployment/locate.ts";
import type { OperatorDeps } from "../lib/operator/context.ts";
import { FunctionFailedError, type Invoke } from "../lib/operator/invoke.ts";
import { readTemplate } from "./iam/cloudformation.ts";
import { SERVERLESS_YML } from "./iam/policies.ts";
import { fakeContext } from "./lambda.ts";
import type { SandboxSession } from "./session.ts";
import { SANDBOX_STAGE } from "./world-from-config.ts";

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Lambda's Invoke (RequestResponse) on the sandbox's deployed functions, as the operator commands
 * call it (lib/operator/invoke.ts's contract): by name or ARN in the caller's region, the
 * handler's result as the JSON the response payload carries; a name with no function there is
 * `ResourceNotFoundException` (404) "Function not found: <arn>" (Lambda API reference, Invoke
 * errors; the message as AWS answers it, e.g. teticio/lambda-scraper#8), and a function that
 * throws answers with `FunctionError: Unhandled` and the error as payload, which the invoker
 * raises as FunctionFailedError.
 */
export const sandboxInvoker = (session: SandboxSession, region: string): Invoke => {
  const { world, handlers } = session;
  const deployed: Record<string, Handler> = {
    "start-pipelines": handlers.startPipelines as Handler,
    "on-image-state": handlers.onImageState as Handler,
    "roll-out-target": handlers.rollOutTarget as Handler,
    "watch-rollouts": handlers.watchRollouts as Handler,
    alerts: handlers.alerts as Handler,
    "explain-launch-failure": handlers.explainLaunchFailure as Handler,
  };
  const prefix = `ami-orchestrator-${SANDBOX_STAGE}-`;
  return async (functionName, payload) => {
    const name = functionName.split(":function:").at(-1) ?? functionName;
    const arn = `arn:aws:lambda:${region}:${world.orchestratorAccountId}:function:${name}`;
    const handler =
      region === world.orchestratorRegion && name.startsWith(prefix)
        ? deployed[name.slice(prefix.length)]
        : undefined;
    if (!handler)
      throw Object.assign(new Error(`Function not found: ${arn}`), {
        name: "ResourceNotFoundException",
        $metadata: { httpStatusCode: 404 },
      });
    try {
      const result = await handler(payload, fakeContext(name.slice(prefix.length)));
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      const thrown = error instanceof Error ? error : new Error(String(error));
      throw new FunctionFailedError(
        `${functionName} failed (Unhandled): ${JSON.stringify({ errorType: thrown.name, errorMessage: thrown.message })}`,
      );
    }
  };
};

/**
 * The operator commands' dependencies against a running sandbox: serverless.yml's defaults, SDK
 * clients the sandbox intercepts (CloudFormation) or serves (DynamoDB, through
 * AWS_ENDPOINT_URL_DYNAMODB), the sandbox's functions for Invoke, and the lines printed kept.
 */
export const sandboxOperatorDeps = (
  session: SandboxSession,
  configPath: string,
): OperatorDeps & { readonly stdout: string[]; readonly stderr: string[] } => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    defaults: deploymentDefaults(readTemplate(SERVERLESS_YML)),
    clients: (region) => ({
      cloudformation: new CloudFormationClient({ region }),
      db: createDocumentClient(region),
      invoke: sandboxInvoker(session, region),
    }),
    config: () => loadConfig(configPath),
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    user: "operator",
    stdout,
    stderr,
  };
};
