import { type DeploymentSite, STACK_OUTPUTS, stackNameOf } from "../deployment/locate.ts";

/**
 * What an operator's own credentials need for each command: every AWS call the command makes
 * (lib/deployment/sdk-calls.ts derives them from the code, and a test holds this table to it),
 * on the resources of one deployment, in the ARN formats of the Service Authorization Reference
 * (CloudFormation `stack`, DynamoDB `table`, Lambda `function`). Nothing cross-account: the
 * approve, rollback and doctor actions run inside the watch-rollouts function, with its role.
 */

export const OPERATOR_COMMANDS = ["status", "approve", "rollback", "doctor"] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

export interface OperatorStatement {
  readonly Sid: string;
  readonly Effect: "Allow";
  readonly Action: string;
  readonly Resource: string;
}

/** Where the deployment is; the account may be a placeholder such as `<account>`. */
export interface PermissionSite extends DeploymentSite {
  readonly partition: string;
  readonly accountId: string;
}

const statements = (site: PermissionSite) => {
  const { partition, region, accountId } = site;
  const stack = stackNameOf(site);
  return {
    // DescribeStacks authorises against the stack: …:stack/<name>/<id> (the id is a uuid).
    findDeployment: {
      Sid: "FindTheDeployment",
      Effect: "Allow",
      Action: "cloudformation:DescribeStacks",
      Resource: `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stack}/*`,
    },
    // The state table's name is CloudFormation's, <stack>-StateTable-<suffix>: the stack's
    // StateTableArn output is the exact ARN.
    readRollouts: {
      Sid: "ReadRolloutState",
      Effect: "Allow",
      Action: "dynamodb:Query",
      Resource: `arn:${partition}:dynamodb:${region}:${accountId}:table/${stack}-StateTable-*`,
    },
    // A rollout's record and a failed target's item (status pages through a rollout).
    readRolloutItems: {
      Sid: "ReadRolloutItems",
      Effect: "Allow",
      Action: "dynamodb:GetItem",
      Resource: `arn:${partition}:dynamodb:${region}:${accountId}:table/${stack}-StateTable-*`,
    },
    // Counts per state and the failed targets, from the `progress` index (an index is a resource
    // of its own: table/<name>/index/<index>, DynamoDB's service authorization reference).
    readProgressIndex: {
      Sid: "ReadRolloutProgress",
      Effect: "Allow",
      Action: "dynamodb:Query",
      Resource: `arn:${partition}:dynamodb:${region}:${accountId}:table/${stack}-StateTable-*/index/progress`,
    },
    // osls names the function <service>-<stage>-watch-rollouts (WatchRolloutsFunctionArn).
    invokeWatcher: {
      Sid: "InvokeWatchRollouts",
      Effect: "Allow",
      Action: "lambda:InvokeFunction",
      Resource: `arn:${partition}:lambda:${region}:${accountId}:function:${stack}-watch-rollouts`,
    },
  } satisfies Record<string, OperatorStatement>;
};

/** Each command's statements. */
export const operatorPermissions = (
  site: PermissionSite,
): Record<OperatorCommand, readonly OperatorStatement[]> => {
  const { findDeployment, readRollouts, readRolloutItems, readProgressIndex, invokeWatcher } =
    statements(site);
  return {
    status: [findDeployment, readRollouts, readRolloutItems, readProgressIndex],
    approve: [findDeployment, invokeWatcher],
    rollback: [findDeployment, invokeWatcher],
    doctor: [findDeployment, invokeWatcher],
  };
};

/** One policy for every command (or the given ones): each statement once. */
export const operatorPolicy = (
  site: PermissionSite,
  commands: readonly OperatorCommand[] = OPERATOR_COMMANDS,
) => {
  const permissions = operatorPermissions(site);
  const bySid = new Map<string, OperatorStatement>();
  for (const command of commands)
    for (const statement of permissions[command]) bySid.set(statement.Sid, statement);
  return { Version: "2012-10-17", Statement: [...bySid.values()] };
};

/** The placeholders the documentation shows the policy with. */
export const DOCUMENTED_SITE: PermissionSite = {
  service: "ami-orchestrator",
  stage: "<stage>",
  region: "<region>",
  partition: "aws",
  accountId: "<account>",
};

/** The permissions as a Markdown table, one row per command, for docs/operating.md. */
export const permissionsTable = (site: PermissionSite = DOCUMENTED_SITE): string => {
  const permissions = operatorPermissions(site);
  const via: Record<string, string> = {
    "cloudformation:DescribeStacks": `the stack \`${stackNameOf(site)}\``,
    "dynamodb:Query": `the table its output \`${STACK_OUTPUTS.tableName}\` names, and its \`progress\` index`,
    "dynamodb:GetItem": `the table its output \`${STACK_OUTPUTS.tableName}\` names`,
    "lambda:InvokeFunction": `the function its output \`${STACK_OUTPUTS.watchRolloutsFunction}\` names`,
  };
  return [
    "| command | IAM actions | on |",
    "|---|---|---|",
    ...OPERATOR_COMMANDS.map((command) => {
      const list = permissions[command];
      return `| \`${command}\` | ${list.map((s) => `\`${s.Action}\``).join(", ")} | ${list
        .map((s) => via[s.Action] ?? s.Resource)
        .join("; ")} |`;
    }),
  ].join("\n");
};
