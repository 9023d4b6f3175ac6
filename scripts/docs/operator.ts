import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseCloudFormationYaml } from "../../lib/deployment/cloudformation.ts";
import {
  type Deployment,
  DeploymentNotFoundError,
  deploymentDefaults,
  deploymentLine,
} from "../../lib/deployment/locate.ts";
import {
  DOCUMENTED_SITE,
  operatorPolicy,
  permissionsTable,
} from "../../lib/operator/permissions.ts";

/**
 * The blocks of docs/operating.md the code produces (`<!-- generated:<name> -->`): what each
 * command needs (lib/operator/permissions.ts, held to the code's AWS calls by a test), the policy
 * for all of them, and the lines a command prints about the deployment it found or did not.
 */
export const operatorBlocks = (): Record<string, string> => {
  const defaults = deploymentDefaults(
    parseCloudFormationYaml(
      readFileSync(fileURLToPath(new URL("../../serverless.yml", import.meta.url)), "utf8"),
    ),
  );
  const example = { service: defaults.service, stage: "prod", region: "eu-west-3" };
  const found: Deployment = {
    ...example,
    stackName: `${defaults.service}-prod`,
    stackId: `arn:aws:cloudformation:eu-west-3:123456789012:stack/${defaults.service}-prod/…`,
    accountId: "123456789012",
    partition: "aws",
    status: "UPDATE_COMPLETE",
    outputs: {},
  };
  return {
    "operator-permissions": permissionsTable(),
    "operator-policy": [
      "```json",
      JSON.stringify(operatorPolicy(DOCUMENTED_SITE), null, 2),
      "```",
    ].join("\n"),
    "operator-lines": [
      "```console",
      "$ npm run rollout -- status --stage prod --region eu-west-3",
      deploymentLine(found),
      "…",
      "$ npm run rollout -- status --stage prod",
      new DeploymentNotFoundError({ ...example, region: defaults.region }).message,
      "```",
    ].join("\n"),
  };
};
