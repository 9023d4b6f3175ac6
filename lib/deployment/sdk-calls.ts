import { build } from "esbuild";

/**
 * The AWS calls a function's bundle can make, read from the bundle itself rather than from a
 * hand-kept list: the handler is bundled the way serverless-esbuild bundles it (tree-shaken, with
 * the `lambda` condition), with the AWS SDK and Powertools left external so their imports stay
 * visible; every command constructed (`new XCommand(`), paginator or Powertools helper called in
 * what survives tree shaking is one IAM action. Used by the tests that hold the roles in
 * serverless.yml and templates/target-account-role.yml to the code (deploy-time only).
 */

export interface SdkCall {
  /** The IAM action AWS authorises the call against, e.g. `dynamodb:Query`. */
  readonly action: string;
  /** What the code calls it, e.g. `paginateQuery`, `SendMessageBatchCommand`. */
  readonly via: string;
  /** The package it comes from. */
  readonly from: string;
}

/** IAM service prefix of each SDK client package. */
const SERVICE_PREFIX: Record<string, string> = {
  "@aws-sdk/client-auto-scaling": "autoscaling",
  "@aws-sdk/client-cloudformation": "cloudformation",
  "@aws-sdk/client-cloudwatch": "cloudwatch",
  "@aws-sdk/client-cloudwatch-logs": "logs",
  "@aws-sdk/client-dynamodb": "dynamodb",
  "@aws-sdk/client-ec2": "ec2",
  "@aws-sdk/client-eventbridge": "events",
  "@aws-sdk/client-iam": "iam",
  "@aws-sdk/client-imagebuilder": "imagebuilder",
  "@aws-sdk/client-kms": "kms",
  "@aws-sdk/client-lambda": "lambda",
  "@aws-sdk/client-organizations": "organizations",
  "@aws-sdk/client-scheduler": "scheduler",
  "@aws-sdk/client-secrets-manager": "secretsmanager",
  "@aws-sdk/client-sns": "sns",
  "@aws-sdk/client-sqs": "sqs",
  "@aws-sdk/client-ssm": "ssm",
  "@aws-sdk/client-sts": "sts",
};

/**
 * Operations whose IAM action has another name. SQS authorises its batch operations as the
 * single ones ("the permission for SendMessageBatch is the same as for SendMessage", SQS
 * developer guide, sqs-api-permissions-reference); the DynamoDB document client's commands are
 * the table operations they marshal to.
 */
const ACTION_OF_OPERATION: Record<string, string> = {
  // Lambda authorises Invoke as lambda:InvokeFunction (Service Authorization Reference, AWS
  // Lambda: "InvokeFunction ... Grants permission to invoke a function").
  "lambda:Invoke": "lambda:InvokeFunction",
  "sqs:SendMessageBatch": "sqs:SendMessage",
  "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
};
const DOCUMENT_CLIENT_OPERATION: Record<string, string> = {
  Get: "GetItem",
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  Query: "Query",
  Scan: "Scan",
  BatchGet: "BatchGetItem",
  BatchWrite: "BatchWriteItem",
};

/** Powertools helpers that call AWS, with the actions they need. */
const POWERTOOLS_CALLS: Record<string, Record<string, readonly string[]>> = {
  "@aws-lambda-powertools/parameters/ssm": {
    getParameter: ["ssm:GetParameter"],
    getParameters: ["ssm:GetParametersByPath"],
    getParametersByName: ["ssm:GetParameters", "ssm:GetParameter"],
  },
  "@aws-lambda-powertools/parameters/secrets": { getSecret: ["secretsmanager:GetSecretValue"] },
};

/** Powertools packages that make no AWS call of their own (logs and EMF metrics go to stdout). */
const NO_AWS_CALLS = [
  "@aws-lambda-powertools/logger",
  "@aws-lambda-powertools/logger/middleware",
  "@aws-lambda-powertools/metrics",
  "@aws-lambda-powertools/batch",
];

/** SDK packages that make no AWS call (the partition data lib/config/regions.ts reads). */
const SDK_UTILITIES = ["@aws-sdk/util-endpoints"];

const actionsOf = (from: string, imported: string): readonly string[] | undefined => {
  if (from === "@aws-sdk/lib-dynamodb") {
    const operation = /^(?:paginate(\w+)|(\w+)Command)$/.exec(imported);
    const name = operation?.[1] ?? operation?.[2];
    if (!name) return undefined;
    const mapped = operation?.[1] ? name : DOCUMENT_CLIENT_OPERATION[name];
    if (!mapped) throw new Error(`${from} ${imported}: no IAM action known; add it`);
    return [`dynamodb:${mapped}`];
  }
  const prefix = SERVICE_PREFIX[from];
  if (prefix) {
    if (/^waitUntil/.test(imported))
      throw new Error(`${from} ${imported}: waiters poll a Describe action; add it explicitly`);
    const operation = /^(?:paginate(\w+)|(\w+)Command)$/.exec(imported);
    const name = operation?.[1] ?? operation?.[2];
    if (!name) return undefined;
    const action = `${prefix}:${name}`;
    return [ACTION_OF_OPERATION[action] ?? action];
  }
  if (SDK_UTILITIES.includes(from)) return undefined;
  if (from.startsWith("@aws-sdk/")) throw new Error(`${from}: unknown SDK package; map it`);
  const powertools = POWERTOOLS_CALLS[from];
  if (powertools) return powertools[imported];
  if (from.startsWith("@aws-lambda-powertools/") && !NO_AWS_CALLS.includes(from))
    throw new Error(`${from}: a Powertools utility this derivation does not know; map it`);
  return undefined;
};

const IMPORT = /^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";$/gm;

/** The AWS calls reachable from one handler module (e.g. `functions/alerts.ts`), sorted by action. */
export const sdkCallsOf = async (entry: string): Promise<SdkCall[]> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node22",
    treeShaking: true,
    // As serverless.yml's esbuild settings: package.json "#config-file" resolves for Lambda.
    conditions: ["lambda"],
    mainFields: ["module", "main"],
    external: ["@aws-sdk/*", "@aws-lambda-powertools/*", "@smithy/*"],
    logLevel: "silent",
  });
  const text = result.outputFiles[0]?.text ?? "";
  const body = text.replace(IMPORT, "");
  const calls = new Map<string, SdkCall>();
  for (const [, names = "", from = ""] of text.matchAll(IMPORT)) {
    for (const binding of names.split(",").map((name) => name.trim())) {
      if (!binding) continue;
      const [imported = "", local = imported] = binding.split(/\s+as\s+/);
      // Constructed or called in code that survived tree shaking (`instanceof X` is no call).
      const used = new RegExp(`(?:\\bnew\\s+${local}\\s*\\(|(?<![\\w.$])${local}\\s*\\()`);
      if (!used.test(body)) continue;
      for (const action of actionsOf(from, imported) ?? []) {
        calls.set(`${action}|${imported}`, { action, via: imported, from });
      }
    }
  }
  return [...calls.values()].sort((a, b) => a.action.localeCompare(b.action));
};
