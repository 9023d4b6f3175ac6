import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { clientConfig } from "../lib/aws/clients.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { configPath, loadConfig } from "../lib/config/load.ts";
import { parseCloudFormationYaml } from "../lib/deployment/cloudformation.ts";
import { deploymentDefaults } from "../lib/deployment/locate.ts";
import type { OperatorDeps } from "../lib/operator/context.ts";
import { lambdaInvoker } from "../lib/operator/invoke.ts";

const SERVERLESS_YML = fileURLToPath(new URL("../serverless.yml", import.meta.url));

/**
 * What the operator commands (scripts/rollout.ts, scripts/doctor.ts) run with: the defaults of
 * serverless.yml, the SDK's usual credentials (profile, environment, SSO) in the region the
 * command line names, the config, stdout for results and stderr for the rest.
 */
export const operatorDeps = (): OperatorDeps => ({
  defaults: deploymentDefaults(parseCloudFormationYaml(readFileSync(SERVERLESS_YML, "utf8"))),
  clients: (region) => ({
    cloudformation: new CloudFormationClient(clientConfig({ region })),
    db: createDocumentClient(region),
    invoke: lambdaInvoker(new LambdaClient(clientConfig({ region }))),
  }),
  config: () => loadConfig(configPath()),
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  user: process.env.USER ?? "operator",
});
