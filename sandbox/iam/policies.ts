import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { OrchestratorConfig } from "../../lib/config/schema.ts";
import { targetAccountsKeyStatement } from "../../lib/kms/key-policy.ts";
import { readServerlessYml, resolveServerlessVariables } from "../serverless-yml.ts";
import { generatedName, readTemplate, type Stack, TemplateResolver } from "./cloudformation.ts";

/**
 * The IAM policies we actually deploy, read from the files that deploy them: each function's role
 * from serverless.yml (as `serverless package` hands it to CloudFormation), the target-account
 * role from templates/target-account-role.yml, and the KMS key policy the docs ask key owners
 * for (lib/kms/key-policy.ts). Nothing here is written by hand: remove a permission from those files and the sandbox
 * refuses the call.
 */

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: ReadonlyArray<Record<string, unknown>>;
}

export interface RolePolicies {
  readonly roleArn: string;
  readonly trustPolicy: PolicyDocument;
  readonly policies: ReadonlyArray<{ readonly name: string; readonly policy: PolicyDocument }>;
}

const repoFile = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export const SERVERLESS_YML = repoFile("serverless.yml");
export const TARGET_TEMPLATE = repoFile("templates/target-account-role.yml");

const rolePolicies = (properties: Record<string, unknown>, roleArn: string): RolePolicies => ({
  roleArn,
  trustPolicy: properties.AssumeRolePolicyDocument as PolicyDocument,
  policies: (
    (properties.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: unknown }>
  ).map((policy) => ({ name: policy.PolicyName, policy: policy.PolicyDocument as PolicyDocument })),
});

/**
 * What `!Ref`/`!GetAtt` give for resources the sandbox has no counterpart of (CloudFormation's
 * generated names); the sandbox's own table, queues and topics come from `stack.resources`.
 */
const generatedAttributes = (
  resources: Record<string, Record<string, unknown>>,
  stack: Stack,
): Record<string, Record<string, string>> => {
  const partition = stack.partition ?? "aws";
  return Object.fromEntries(
    Object.entries(resources).map(([logicalId, resource]) => {
      const name = generatedName(stack.stackName, logicalId, 80);
      const arn = (service: string, suffix: string, account = stack.accountId) =>
        `arn:${partition}:${service}:${service === "iam" ? "" : stack.region}:${account}:${suffix}`;
      const byType: Record<string, Record<string, string>> = {
        "AWS::SQS::Queue": {
          Ref: `https://sqs.${stack.region}.amazonaws.com/${stack.accountId}/${name}`,
          Arn: arn("sqs", name),
          QueueName: name,
        },
        "AWS::SNS::Topic": { Ref: arn("sns", name), TopicArn: arn("sns", name) },
        "AWS::KMS::Key": { Ref: name, Arn: arn("kms", `key/${name}`) },
        "AWS::DynamoDB::Table": { Ref: name, Arn: arn("dynamodb", `table/${name}`) },
        "AWS::IAM::Role": { Ref: name, Arn: arn("iam", `role/${name}`) },
      };
      return [logicalId, { ...(byType[String(resource.Type)] ?? { Ref: name }) }];
    }),
  );
};

/**
 * The same roles read from `serverless package` output (.serverless/cloudformation-template-
 * update-stack.json): what CloudFormation would receive.
 */
export const packagedFunctionRoles = (
  packagedTemplate: string,
  stack: ServerlessStack,
  file = SERVERLESS_YML,
): Map<string, RolePolicies> => {
  const template = JSON.parse(readFileSync(packagedTemplate, "utf8")) as {
    Resources: Record<string, Record<string, unknown>>;
  };
  const resolver = new TemplateResolver(template, {
    ...stack,
    resources: { ...generatedAttributes(template.Resources, stack), ...stack.resources },
  });
  const roles = new Map<string, RolePolicies>();
  for (const [name, fn] of Object.entries(
    readTemplate(file).functions as Record<string, { role?: string }>,
  )) {
    const properties = fn.role ? resolver.resource(fn.role) : undefined;
    if (!fn.role || !properties) throw new Error(`${packagedTemplate}: no role for ${name}`);
    const roleName =
      (properties.RoleName as string | undefined) ?? generatedName(stack.stackName, fn.role);
    roles.set(
      name,
      rolePolicies(
        properties,
        `arn:${stack.partition ?? "aws"}:iam::${stack.accountId}:role/${roleName}`,
      ),
    );
  }
  return roles;
};

export interface ServerlessStack extends Stack {
  readonly service?: string;
  readonly stage: string;
}

/**
 * serverless.yml's resources as CloudFormation creates them for `stack`: `${self:custom.derived.*}`
 * from deriveSettings (what serverless/derived.cjs gives the framework), `${self:service}` and
 * `${sls:stage}`, then the stack's intrinsics with `stack.resources` standing for the table,
 * queues and topics, and each role's ARN for `!GetAtt <Role>.Arn` (its RoleName, or the name
 * CloudFormation generates).
 */
export const serverlessResources = (
  config: OrchestratorConfig,
  stack: ServerlessStack,
  file: string,
) => {
  const { document, service, settings: derived } = readServerlessYml(config, stack.stage, file);
  const lookup = (name: string): unknown => {
    if (name === "self:service") return service;
    if (name === "sls:stage") return stack.stage;
    if (name.startsWith("self:custom.derived.")) {
      const value = derived[name.slice("self:custom.derived.".length)];
      if (value === undefined) throw new Error(`serverless.yml: no derived setting for ${name}`);
      return value;
    }
    throw new Error(`serverless.yml: the sandbox does not resolve \${${name}} in a role`);
  };
  const resources = Object.assign(
    {},
    ...((document.resources ?? []) as Array<{ Resources?: Record<string, unknown> }>).map((part) =>
      typeof part.Resources === "object" ? part.Resources : {},
    ),
  ) as Record<string, Record<string, unknown>>;
  const partition = stack.partition ?? "aws";
  const roleArns = Object.fromEntries(
    Object.entries(resources)
      .filter(([, resource]) => resource.Type === "AWS::IAM::Role")
      .map(([logicalId, resource]) => {
        const roleName = resolveServerlessVariables(
          (resource.Properties as Record<string, unknown> | undefined)?.RoleName,
          lookup,
        ) as string | undefined;
        const arn = `arn:${partition}:iam::${stack.accountId}:role/${roleName ?? generatedName(stack.stackName, logicalId)}`;
        return [logicalId, { Ref: arn.split("/").at(-1) ?? "", Arn: arn }];
      }),
  );
  const resolver = new TemplateResolver(
    { Resources: resources },
    {
      ...stack,
      resources: { ...generatedAttributes(resources, stack), ...roleArns, ...stack.resources },
    },
  );
  return {
    document,
    resources,
    roleArns,
    /** Any part of serverless.yml (an output's value), every variable and intrinsic resolved. */
    resolve: (node: unknown) => resolver.resolve(resolveServerlessVariables(node, lookup)),
    /** A resource's properties, every variable and intrinsic resolved. */
    properties: (logicalId: string) =>
      resolver.resolve(
        resolveServerlessVariables(resources[logicalId]?.Properties, lookup),
      ) as Record<string, unknown>,
  };
};

/**
 * Each function's role as CloudFormation creates it from serverless.yml (serverlessResources),
 * keyed by function name (`roll-out-target`).
 */
export const functionRoles = (
  config: OrchestratorConfig,
  stack: ServerlessStack,
  file = SERVERLESS_YML,
): Map<string, RolePolicies> => {
  const { document, resources, roleArns, properties } = serverlessResources(config, stack, file);
  const roles = new Map<string, RolePolicies>();
  for (const [name, fn] of Object.entries(
    document.functions as Record<string, { role?: string }>,
  )) {
    const logicalId = fn.role;
    const roleArn = logicalId ? roleArns[logicalId]?.Arn : undefined;
    if (!logicalId || !resources[logicalId] || !roleArn)
      throw new Error(`serverless.yml: function ${name} has no role resource the sandbox can read`);
    roles.set(name, rolePolicies(properties(logicalId), roleArn));
  }
  return roles;
};

/**
 * The queue policies serverless.yml deploys (AWS::SQS::QueuePolicy), by queue ARN. `Queues` lists
 * queue URLs (https://sqs.<region>.amazonaws.com/<account>/<name>), each of which gets the policy
 * (CloudFormation User Guide, AWS::SQS::QueuePolicy).
 */
export const queuePolicies = (
  config: OrchestratorConfig,
  stack: ServerlessStack,
  file = SERVERLESS_YML,
): Map<string, PolicyDocument> => {
  const { resources, properties } = serverlessResources(config, stack, file);
  const policies = new Map<string, PolicyDocument>();
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== "AWS::SQS::QueuePolicy") continue;
    const { Queues, PolicyDocument: policy } = properties(logicalId) as {
      Queues: string[];
      PolicyDocument: PolicyDocument;
    };
    for (const url of Queues) {
      const [, , host, account, name] = url.split("/");
      const region = host?.split(".")[1];
      if (!region || !account || !name) throw new Error(`${logicalId}: not a queue URL: ${url}`);
      policies.set(`arn:${stack.partition ?? "aws"}:sqs:${region}:${account}:${name}`, policy);
    }
  }
  return policies;
};

/** The role templates/target-account-role.yml creates with these parameters (none if its Condition is false). */
export const targetAccountRole = (
  stack: Stack & { readonly parameters: Record<string, string> },
  file = TARGET_TEMPLATE,
): RolePolicies | undefined => {
  const resolver = new TemplateResolver(readTemplate(file), stack);
  const properties = resolver.resource("OrchestratorTargetRole");
  if (!properties) return undefined;
  return rolePolicies(
    properties,
    `arn:${stack.partition ?? "aws"}:iam::${stack.accountId}:role/${String(properties.RoleName)}`,
  );
};

/**
 * A customer-managed key's policy: the default statement (the owner account's root, so IAM
 * policies in the owner account decide) plus, when the owner followed docs/deployment.md (the key
 * owner's part), the statement letting each target account describe the key, create grants and
 * list them, without a kms:GrantIsForAWSResource condition.
 * Sources: KMS Developer Guide, "Default key policy" (key-policy-default.html) and "Allowing users
 * in other accounts to use a KMS key" (key-policy-modifying-external-accounts.html).
 */
export const keyPolicy = (
  ownerAccountId: string,
  targetAccountIds: readonly string[],
  partition = "aws",
): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "Enable IAM User Permissions",
      Effect: "Allow",
      Principal: { AWS: `arn:${partition}:iam::${ownerAccountId}:root` },
      Action: "kms:*",
      Resource: "*",
    },
    // The one statement the docs ask key owners for (lib/kms/key-policy.ts).
    ...(targetAccountIds.length > 0
      ? [targetAccountsKeyStatement(targetAccountIds, partition)]
      : []),
  ],
});
