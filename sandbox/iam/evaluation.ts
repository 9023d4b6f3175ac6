import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { SimulationDecision } from "../model/iam.ts";
import type { PolicyDocument } from "./policies.ts";
import type { AuthorizationRequest } from "./requests.ts";

/**
 * Policy evaluation by @cloud-copilot/iam-simulate (AGPL-3.0: a devDependency, never bundled
 * into a function), and what the sandbox reads of the policies around it: the condition keys a
 * statement tests.
 */

export const asList = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];

const actionMatches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(
    action,
  );

/** The account an ARN names, if any (an image's or a bucket's names none). */
export const accountOfArn = (arn: string): string | undefined => arn.split(":")[4] || undefined;

/** Condition keys the sandbox sets itself for every request. */
const GLOBAL_KEYS = new Set([
  "aws:principalarn",
  "aws:principalaccount",
  "aws:requestedregion",
  "aws:securetransport",
  "aws:currenttime",
  "aws:epochtime",
  "aws:resourceaccount",
  "aws:userid",
  "aws:username",
  "aws:principaltype",
  "aws:viaawsservice",
  "aws:calledviafirst",
]);

/** The statements of the policies whose actions match `action`. */
const statementsFor = (policies: readonly PolicyDocument[], action: string) =>
  policies.flatMap((policy) =>
    policy.Statement.filter((statement) =>
      asList(statement.Action).some((pattern) => actionMatches(pattern, action)),
    ),
  );

/** One evaluation by @cloud-copilot/iam-simulate. */
export const evaluate = async (input: {
  principal: string;
  request: Pick<AuthorizationRequest, "action" | "resource" | "resourceAccount">;
  context: Record<string, string | string[]>;
  identityPolicies: Array<{ name: string; policy: PolicyDocument }>;
  resourcePolicy?: PolicyDocument;
}): Promise<{ decision: SimulationDecision["decision"]; identityAllowed: boolean }> => {
  const { request } = input;
  const result = await runSimulation(
    {
      request: {
        principal: input.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount },
        contextVariables: input.context,
      },
      identityPolicies: input.identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(input.resourcePolicy ? { resourcePolicy: input.resourcePolicy } : {}),
    },
    {},
  );
  if (result.resultType === "error")
    throw new Error(
      `sandbox IAM could not evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  const analysis = result.resultType === "single" ? result.result.analysis : undefined;
  return {
    decision:
      result.overallResult === "Allowed"
        ? "allowed"
        : result.overallResult === "ExplicitlyDenied"
          ? "explicitDeny"
          : "implicitDeny",
    identityAllowed: analysis?.identityAnalysis?.result === "Allowed",
  };
};

/**
 * The keys the statements for this action test that were not given: what IAM lists as
 * MissingContextValues for iam:SimulatePrincipalPolicy.
 */
export const missingContextKeys = (
  policies: readonly PolicyDocument[],
  action: string,
  context: Record<string, unknown>,
): string[] => {
  const given = new Set(Object.keys(context).map((key) => key.toLowerCase()));
  return [
    ...new Set(
      statementsFor(policies, action).flatMap((statement) =>
        Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>)
          .flatMap((keys) => Object.keys(keys))
          .filter((key) => !given.has(key.toLowerCase())),
      ),
    ),
  ];
};

/**
 * Condition keys a matching statement tests that the sandbox did not set: reported, not guessed
 * (each is evaluated as absent).
 */
export const unknownConditionKeys = (
  request: AuthorizationRequest,
  context: Record<string, unknown>,
  policies: readonly PolicyDocument[],
): string[] => {
  const known = new Set(Object.keys(context).map((key) => key.toLowerCase()));
  const notes: string[] = [];
  for (const statement of statementsFor(policies, request.action)) {
    const conditions = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
    for (const [operator, keys] of Object.entries(conditions)) {
      for (const key of Object.keys(keys)) {
        const lower = key.toLowerCase();
        if (known.has(lower) || GLOBAL_KEYS.has(lower)) continue;
        // Tags the resource does not carry are known to be absent.
        if (/^(aws|ec2|autoscaling):resourcetag\//.test(lower)) continue;
        // The key is absent here, and the operator says what absence means.
        if (operator.endsWith("IfExists") || operator === "Null") continue;
        notes.push(
          `${request.action}: condition key ${key} (${String(statement.Sid ?? "statement")}) is not known offline; evaluated as absent`,
        );
      }
    }
  }
  return notes;
};
