/**
 * Policy text for the docs, built from what deploys it: the key-policy statement from
 * lib/kms/key-policy.ts, the target role's trust and permissions from
 * templates/target-account-role.yml (read as CloudFormation reads it).
 */
import type { OrchestratorConfig } from "../../lib/config/schema.ts";
import { targetAccountsKeyStatement } from "../../lib/kms/key-policy.ts";
import { readTemplate, TemplateResolver } from "../../sandbox/iam/cloudformation.ts";
import { TARGET_TEMPLATE } from "../../sandbox/iam/policies.ts";

const fenced = (language: string, text: string) => `\`\`\`${language}\n${text}\n\`\`\``;

/** The orchestrator's account, region and partition: those of the config's first pipeline. */
export const orchestratorOf = (config: OrchestratorConfig) => {
  const [, partition = "aws", , region = "", accountId = ""] = (
    config.pipelines[0]?.arn ?? ""
  ).split(":");
  return { partition, region, accountId };
};

/** The statement for every target account of the config. */
export const keyPolicyBlock = (config: OrchestratorConfig): string => {
  const ids = [...new Set(Object.values(config.accounts).map((account) => account.id))];
  return fenced(
    "json",
    JSON.stringify(targetAccountsKeyStatement(ids, orchestratorOf(config).partition), null, 2),
  );
};

/** The role's trust policy as CloudFormation creates it for the config's last account, stage prod. */
export const targetTrustBlock = (config: OrchestratorConfig): string => {
  const orchestrator = orchestratorOf(config);
  const account = Object.values(config.accounts).at(-1);
  if (!account) throw new Error("the config has no account");
  const resolver = new TemplateResolver(readTemplate(TARGET_TEMPLATE), {
    accountId: account.id,
    region: orchestrator.region,
    partition: orchestrator.partition,
    stackName: "ami-orchestrator-target",
    parameters: {
      OrchestratorAccountId: orchestrator.accountId,
      OrchestratorRegion: orchestrator.region,
      OrchestratorStage: "prod",
      ExternalId: account.externalId,
      RoleName: account.roleName,
      KmsKeyArns: "none",
    },
  });
  const role = resolver.resource("OrchestratorTargetRole") as {
    AssumeRolePolicyDocument: { Statement: unknown[] };
  };
  return fenced("json", JSON.stringify(role.AssumeRolePolicyDocument.Statement[0], null, 2));
};

const PSEUDO: Record<string, string> = {
  "AWS::Partition": "<partition>",
  "AWS::AccountId": "<account>",
  "AWS::Region": "<region>",
};

/** A template value as a reader wants it: `!Sub` text with placeholders, parameters as <Name>. */
const show = (node: unknown, conditions: Record<string, unknown>): string => {
  if (typeof node === "string") return `\`${node}\``;
  if (Array.isArray(node)) return node.map((item) => show(item, conditions)).join(", ");
  if (node && typeof node === "object") {
    const [key, argument] = Object.entries(node)[0] ?? [];
    if (key === "Ref") return `\`<${String(argument)}>\``;
    if (key === "Fn::Sub")
      return `\`${String(argument).replace(/\$\{([^}]+)\}/g, (_, name: string) => PSEUDO[name] ?? `<${name}>`)}\``;
    if (key === "Fn::If") {
      const [name, whenTrue] = argument as [string, unknown];
      return `${show(whenTrue, conditions)} (when ${describeCondition(conditions[name])})`;
    }
    if (key === "Fn::Equals") {
      const [left, right] = argument as [unknown, unknown];
      return `${show(left, conditions)} = ${show(right, conditions)}`;
    }
    return Object.entries(node)
      .map(([operator, test]) =>
        Object.entries(test as Record<string, unknown>)
          .map(
            ([conditionKey, value]) => `${operator} \`${conditionKey}\` ${show(value, conditions)}`,
          )
          .join("; "),
      )
      .join("; ");
  }
  return String(node);
};

const describeCondition = (definition: unknown): string => {
  const [left, right] = ((definition as Record<string, unknown>)?.["Fn::Equals"] ?? []) as [
    { Ref?: string },
    string,
  ];
  return left?.Ref ? `${left.Ref}=${right}` : JSON.stringify(definition);
};

/** The role's permissions, one row per statement, as the template writes them. */
export const targetPermissionsBlock = (): string => {
  const template = readTemplate(TARGET_TEMPLATE) as {
    Conditions: Record<string, unknown>;
    Resources: Record<string, { Properties: { Policies: Array<{ PolicyDocument: unknown }> } }>;
  };
  const role = template.Resources.OrchestratorTargetRole;
  if (!role) throw new Error(`${TARGET_TEMPLATE}: no OrchestratorTargetRole`);
  const rows = role.Properties.Policies.flatMap(
    (policy) => (policy.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
  ).map((statement) => {
    const actions = [statement.Action ?? []].flat().map((action) => `\`${String(action)}\``);
    const resource =
      statement.Resource !== undefined
        ? show(statement.Resource, template.Conditions)
        : `all but ${show(statement.NotResource, template.Conditions)}`;
    const condition =
      statement.Condition === undefined ? "" : show(statement.Condition, template.Conditions);
    return `| ${statement.Sid} | ${actions.join(", ")} | ${resource} | ${condition} |`;
  });
  return [
    "| statement | actions | on | condition |",
    "| --- | --- | --- | --- |",
    ...rows.map((row) => row.replaceAll("\n", " ")),
  ].join("\n");
};
