import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { parseCloudFormationYaml } from "../../../lib/deployment/cloudformation.ts";
import { type SdkCall, sdkCallsOf } from "../../../lib/deployment/sdk-calls.ts";
import { repoPath } from "../../helpers/fixtures.ts";

/**
 * Each function's role in serverless.yml, and the target-account role, held to the code: the AWS
 * calls are read from what each handler's bundle can call (lib/deployment/sdk-calls.ts), so a
 * new call without its permission fails here, not with AccessDenied on a first deployment.
 */

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

const serverless = parseCloudFormationYaml(readFileSync(repoPath("serverless.yml"), "utf8"));
const resources: Record<string, { Type: string; Properties: Record<string, unknown> }> =
  Object.assign({}, ...serverless.resources.map((part: { Resources?: object }) => part.Resources));
const targetTemplate = parseCloudFormationYaml(
  readFileSync(repoPath("templates/target-account-role.yml"), "utf8"),
);
const targetStatements: Statement[] =
  targetTemplate.Resources.OrchestratorTargetRole.Properties.Policies.flatMap(
    (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
  );

const FUNCTIONS = Object.keys(serverless.functions);

/**
 * Reviewed: the AWS services each function calls with a target account's assumed role
 * (functions/roll-out-target.ts and functions/watch-rollouts.ts build those clients through
 * targetAccountClients); everything else is called with the function's own role.
 */
const IN_TARGET_ACCOUNTS: Record<string, readonly string[]> = {
  "roll-out-target": ["autoscaling", "ec2", "kms", "iam"],
  // The doctor ({"action": "doctor"}) also reads roles, dry-runs grants and reads the
  // forwarding rules in targets.
  "watch-rollouts": ["autoscaling", "ec2", "kms", "iam", "events"],
  "explain-launch-failure": ["autoscaling", "ec2", "kms"],
};
/**
 * ...except these, which roll-out-target also makes as the build account (its own role): a
 * shared AMI's snapshots are described by their owner (`ownerEc2`).
 */
const ALSO_AS_OWNER: Record<string, readonly string[]> = {
  "roll-out-target": ["ec2:DescribeImages", "ec2:DescribeSnapshots"],
  // ...and the doctor reads the rules that trigger the orchestrator's own functions.
  "watch-rollouts": [
    "ec2:DescribeImages",
    "ec2:DescribeSnapshots",
    "events:ListRuleNamesByTarget",
    "events:DescribeRule",
  ],
  "explain-launch-failure": ["ec2:DescribeImages", "ec2:DescribeSnapshots"],
};

const matchesAction = (pattern: string, action: string): boolean =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i",
  ).test(action);

const allowedBy = (statements: Statement[], action: string, resource?: string): Statement[] =>
  statements.filter(
    (statement) =>
      statement.Effect === "Allow" &&
      [statement.Action].flat().some((pattern) => matchesAction(pattern, action)) &&
      (resource === undefined ||
        statement.Resource === "*" ||
        JSON.stringify(statement.Resource).includes(resource)),
  );

const roleStatements = (fn: string): Statement[] => {
  const role = resources[serverless.functions[fn].role];
  assert.ok(role, `${fn}: role ${serverless.functions[fn].role} not in resources`);
  return (
    role.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>
  ).flatMap((policy) => policy.PolicyDocument.Statement);
};

/** The stack resources a handler addresses through the environment variables it reads. */
const addressedResources = (fn: string): Array<{ id: string; type: string }> => {
  const source = readFileSync(
    repoPath(`${serverless.functions[fn].handler.split(".")[0]}.ts`),
    "utf8",
  );
  return Object.entries(serverless.provider.environment as Record<string, unknown>).flatMap(
    ([name, value]) => {
      const ref = (value as { Ref?: string } | undefined)?.Ref;
      const resource = ref ? resources[ref] : undefined;
      return ref && resource && new RegExp(`\\b${name}\\b`).test(source)
        ? [{ id: ref, type: resource.Type }]
        : [];
    },
  );
};

interface Need {
  readonly action: string;
  /** A fragment the statement's Resource must contain (a logical id, a derived setting). */
  readonly resource?: string;
  readonly why: string;
}

/** What the function's own role must allow: its own SDK calls, and what Lambda does for it. */
const ownNeeds = (fn: string, calls: readonly SdkCall[]): Need[] => {
  const definition = serverless.functions[fn];
  const addressed = addressedResources(fn);
  const ofType = (type: string) => addressed.filter((resource) => resource.type === type);
  const needs: Need[] = [
    // The log group exists (the stack creates it); the runtime only writes to it.
    ...["logs:CreateLogStream", "logs:PutLogEvents"].map((action) => ({
      action,
      resource: `/aws/lambda/\${self:service}-\${sls:stage}-${fn}:*`,
      why: "Lambda writes the function's logs",
    })),
  ];
  for (const event of definition.events ?? []) {
    // Lambda's SQS poller uses the execution role (Lambda developer guide, with-sqs).
    const queue = event.sqs?.arn?.["Fn::GetAtt"]?.[0];
    if (queue)
      for (const action of ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"])
        needs.push({ action, resource: queue, why: `SQS event source ${queue}` });
  }
  const onFailure = definition.destinations?.onFailure?.arn?.["Fn::GetAtt"]?.[0];
  if (onFailure)
    needs.push({ action: "sqs:SendMessage", resource: onFailure, why: "on-failure destination" });

  const inTarget = IN_TARGET_ACCOUNTS[fn] ?? [];
  for (const call of calls) {
    const [service = ""] = call.action.split(":");
    if (inTarget.includes(service) && !ALSO_AS_OWNER[fn]?.includes(call.action)) continue;
    const why = `${call.via} (${call.from})`;
    const targets =
      service === "dynamodb"
        ? ofType("AWS::DynamoDB::Table")
        : service === "sqs"
          ? ofType("AWS::SQS::Queue")
          : service === "sns"
            ? ofType("AWS::SNS::Topic")
            : [];
    if (["dynamodb", "sqs", "sns"].includes(service)) {
      assert.ok(targets.length > 0, `${fn}: ${why} but reads no ${service} resource's variable`);
      for (const target of targets) needs.push({ action: call.action, resource: target.id, why });
    } else if (service === "ssm") {
      needs.push({ action: call.action, resource: "slackWebhookParameter", why });
    } else if (service === "sts") {
      needs.push({ action: call.action, resource: "targetRoleArns", why });
    } else {
      needs.push({ action: call.action, why });
    }
    // Publishing to an encrypted topic needs its key too (SNS developer guide, sns-key-management).
    if (call.action === "sns:Publish")
      for (const topic of targets) {
        const key = (
          resources[topic.id]?.Properties.KmsMasterKeyId as { "Fn::GetAtt"?: string[] }
        )?.["Fn::GetAtt"]?.[0];
        if (key)
          for (const action of ["kms:GenerateDataKey", "kms:Decrypt"])
            needs.push({ action, resource: key, why: `publishing to ${topic.id}, encrypted` });
      }
  }
  return needs;
};

const callsOf = new Map<string, SdkCall[]>();
before(async () => {
  for (const fn of FUNCTIONS)
    callsOf.set(
      fn,
      await sdkCallsOf(repoPath(`${serverless.functions[fn].handler.split(".")[0]}.ts`)),
    );
});
const calls = (fn: string): SdkCall[] => callsOf.get(fn) ?? assert.fail(`${fn}: not analysed`);

describe("function roles in serverless.yml", () => {
  it("are derived from what each bundle calls (on-image-state queries the state table)", () => {
    const actions = calls("on-image-state").map((call) => call.action);
    assert.ok(actions.includes("dynamodb:Query"), actions.join(" "));
    assert.ok(actions.includes("imagebuilder:GetImage"), actions.join(" "));
    assert.ok(!actions.some((action) => action.startsWith("autoscaling:")), actions.join(" "));
  });

  for (const fn of FUNCTIONS) {
    it(`${fn}: its role allows every call its code makes with it`, () => {
      const statements = roleStatements(fn);
      const missing = ownNeeds(fn, calls(fn))
        .filter((need) => allowedBy(statements, need.action, need.resource).length === 0)
        .map(
          (need) => `${need.action}${need.resource ? ` on ${need.resource}` : ""} (${need.why})`,
        );
      assert.deepEqual(missing, [], `${serverless.functions[fn].role} lacks`);
    });

    it(`${fn}: its role allows nothing its code does not call`, () => {
      const needs = ownNeeds(fn, calls(fn));
      const unused = roleStatements(fn).flatMap((statement) =>
        [statement.Action]
          .flat()
          .filter((pattern) => !needs.some((need) => matchesAction(pattern, need.action)))
          .map((pattern) => `${statement.Sid ?? "?"}: ${pattern}`),
      );
      assert.deepEqual(unused, [], `${serverless.functions[fn].role} grants more than it uses`);
    });
  }

  it("would catch a missing permission: on-image-state without dynamodb:Query", () => {
    const statements = roleStatements("on-image-state").map((statement) => ({
      ...statement,
      Action: [statement.Action].flat().filter((action) => action !== "dynamodb:Query"),
    }));
    const query = ownNeeds("on-image-state", calls("on-image-state")).find(
      (need) => need.action === "dynamodb:Query",
    );
    assert.ok(query);
    assert.deepEqual(allowedBy(statements, query.action, query.resource), []);
  });
});

describe("target account role (templates/target-account-role.yml)", () => {
  it("allows every call roll-out-target, watch-rollouts and explain-launch-failure make with it", () => {
    const missing: string[] = [];
    for (const [fn, services] of Object.entries(IN_TARGET_ACCOUNTS)) {
      for (const call of calls(fn)) {
        if (!services.includes(call.action.split(":")[0] ?? "")) continue;
        if (allowedBy(targetStatements, call.action).length === 0)
          missing.push(`${call.action} (${fn}: ${call.via})`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("allows what Auto Scaling checks of whoever starts a refresh from a launch template", () => {
    // EC2 Auto Scaling user guide, "Permissions required to call Amazon EC2 Auto Scaling API
    // actions" and "Launch template support": RunInstances, PassRole for an instance profile,
    // CreateTags for tag specifications.
    const starts = [...callsOf.values()]
      .flat()
      .some((call) =>
        ["autoscaling:StartInstanceRefresh", "autoscaling:UpdateAutoScalingGroup"].includes(
          call.action,
        ),
      );
    assert.ok(starts);
    for (const action of ["ec2:RunInstances", "iam:PassRole", "ec2:CreateTags"])
      assert.ok(allowedBy(targetStatements, action).length > 0, action);
  });
});
