/**
 * Checks the CloudFormation template `serverless package` produced, the way a reviewer would:
 * every function on nodejs22.x/arm64 with its own role, its ESM bundle and config in its zip,
 * one Scheduler schedule per scheduled pipeline (time zone, flexible window off, the contract
 * input), on-failure destinations for asynchronous triggers, the Image Builder rule, the SQS
 * mapping with partial batch responses, alarm topics CloudWatch can publish to (not on
 * alias/aws/sns), queues only their senders may send to, and no IAM statement granting a
 * mutating action on "*".
 *
 *   npx tsx scripts/check-template.ts [.serverless]
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadConfig } from "../lib/config/load.ts";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { parseCloudFormationYaml } from "../lib/deployment/cloudformation.ts";

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Read-only prefixes; anything else is treated as mutating. */
const READ_ONLY = /^[a-z0-9-]+:(Get|List|Describe|BatchGet|Query|Scan)/;
/** Actions AWS only allows on "*" (no resource-level permissions), all harmless. */
const STAR_ONLY_ALLOWED = new Set([
  "cloudwatch:PutMetricData",
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
]);

/** The functions serverless.yml declares: every one must be in the template, as it says. */
export const serverlessFunctions = (
  file = fileURLToPath(new URL("../serverless.yml", import.meta.url)),
): string[] =>
  Object.keys(
    (parseCloudFormationYaml(readFileSync(file, "utf8")) as { functions?: object }).functions ?? {},
  );

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The AWS-managed SNS key, by alias or alias ARN. */
const AWS_MANAGED_SNS_KEY = /(^|:)alias\/aws\/sns$/;

/**
 * A topic that CloudWatch alarms notify must be unencrypted or on a customer-managed key whose
 * policy lets cloudwatch.amazonaws.com use it: the AWS-managed alias/aws/sns key does not, and
 * its policy cannot be edited, so the alarm's notifications are dropped (AWS knowledge center
 * "cloudwatch-configure-alarm-sns"; SNS developer guide, sns-key-management).
 */
export const alarmTopicProblems = (template: Record<string, Resource>): string[] => {
  const problems: string[] = [];
  const alarmed = new Set<string>();
  for (const resource of Object.values(template)) {
    if (resource.Type !== "AWS::CloudWatch::Alarm") continue;
    for (const list of ["AlarmActions", "OKActions", "InsufficientDataActions"]) {
      for (const action of asArray((resource.Properties[list] ?? []) as unknown[])) {
        const ref = (action as { Ref?: string }).Ref;
        if (ref && template[ref]?.Type === "AWS::SNS::Topic") alarmed.add(ref);
      }
    }
  }
  for (const id of [...alarmed].sort()) {
    const key = template[id]?.Properties.KmsMasterKeyId;
    if (key === undefined) continue;
    if (typeof key === "string") {
      if (AWS_MANAGED_SNS_KEY.test(key))
        problems.push(
          `${id}: alarms notify it, but it is encrypted with alias/aws/sns, which CloudWatch cannot use`,
        );
      continue;
    }
    const keyId =
      (key as { Ref?: string }).Ref ?? (key as { "Fn::GetAtt"?: string[] })["Fn::GetAtt"]?.[0];
    const keyResource = keyId ? template[keyId] : undefined;
    if (keyResource?.Type !== "AWS::KMS::Key") continue;
    const statements = ((keyResource.Properties.KeyPolicy as { Statement?: Statement[] })
      ?.Statement ?? []) as Array<Statement & { Principal?: { Service?: string | string[] } }>;
    const admitted = (action: string) =>
      statements.some(
        (statement) =>
          statement.Effect === "Allow" &&
          asArray(statement.Principal?.Service ?? []).includes("cloudwatch.amazonaws.com") &&
          asArray(statement.Action).some(
            (pattern) =>
              pattern === action ||
              (pattern.endsWith("*") && action.startsWith(pattern.slice(0, -1))),
          ),
      );
    const missing = ["kms:Decrypt", "kms:GenerateDataKey"].filter((action) => !admitted(action));
    if (missing.length > 0)
      problems.push(
        `${id}: alarms notify it, but its key ${keyId} does not let cloudwatch.amazonaws.com ${missing.join(", ")}`,
      );
  }
  return problems;
};

/** The logical ID a `!Ref X` or `!GetAtt X.Arn` names, if it is one. */
const logicalIdOf = (value: unknown): string | undefined =>
  (value as { Ref?: string })?.Ref ?? (value as { "Fn::GetAtt"?: string[] })?.["Fn::GetAtt"]?.[0];

const sendsMessages = (action: string) => action === "sqs:SendMessage" || action === "sqs:*";

/**
 * Every queue a role may send to has a queue policy that denies sqs:SendMessage (which also
 * authorises SendMessageBatch) to every principal whose aws:PrincipalArn is not one of exactly
 * those roles: a message is a hint, and only the orchestrator's functions may give one. A sender
 * left out would be locked out (an explicit deny wins over its role's allow); a role listed that
 * does not send is a sender too many. Sources: IAM User Guide, "Policy evaluation for requests
 * within a single account" and global condition keys (aws:PrincipalArn is the role's ARN).
 */
export const queuePolicyProblems = (template: Record<string, Resource>): string[] => {
  const problems: string[] = [];
  const senders = new Map<string, Set<string>>();
  for (const [roleId, resource] of Object.entries(template)) {
    if (resource.Type !== "AWS::IAM::Role") continue;
    const policies = (resource.Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Statement[] };
    }>;
    for (const statement of policies.flatMap((policy) => policy.PolicyDocument.Statement)) {
      if (statement.Effect !== "Allow" || !asArray(statement.Action).some(sendsMessages)) continue;
      for (const target of asArray(statement.Resource)) {
        const queueId = logicalIdOf(target);
        if (queueId && template[queueId]?.Type === "AWS::SQS::Queue")
          senders.set(queueId, (senders.get(queueId) ?? new Set()).add(roleId));
      }
    }
  }
  for (const [queueId, roles] of [...senders].sort(([a], [b]) => a.localeCompare(b))) {
    const limiting = Object.entries(template).flatMap(([policyId, resource]) => {
      if (resource.Type !== "AWS::SQS::QueuePolicy") return [];
      if (!asArray(resource.Properties.Queues).some((queue) => logicalIdOf(queue) === queueId))
        return [];
      const statements = (resource.Properties.PolicyDocument as { Statement?: unknown })?.Statement;
      return asArray((statements ?? []) as Array<Statement & Record<string, unknown>>)
        .filter(
          (statement) =>
            statement.Effect === "Deny" &&
            statement.Principal === "*" &&
            asArray(statement.Action).some(sendsMessages),
        )
        .map((statement) => {
          const condition = statement.Condition as
            | { ArnNotEquals?: Record<string, unknown> }
            | undefined;
          return {
            policyId,
            allowed: asArray(condition?.ArnNotEquals?.["aws:PrincipalArn"] ?? []).map(
              (arn) => logicalIdOf(arn) ?? JSON.stringify(arn),
            ),
          };
        })
        .filter(({ allowed }) => allowed.length > 0);
    });
    if (limiting.length === 0) {
      problems.push(
        `${queueId}: no queue policy denies sqs:SendMessage to principals other than its senders (${[...roles].sort().join(", ")})`,
      );
      continue;
    }
    for (const { policyId, allowed } of limiting) {
      for (const role of [...roles].sort())
        if (!allowed.includes(role))
          problems.push(
            `${policyId}: denies sqs:SendMessage to ${role}, which sends to ${queueId}`,
          );
      for (const role of allowed)
        if (!roles.has(role))
          problems.push(`${policyId}: lets ${role} send to ${queueId}, but its role does not`);
    }
  }
  return problems;
};

export const checkTemplate = (
  template: { Resources: Record<string, Resource> },
  config: OrchestratorConfig,
  zipListing: (functionName: string) => string[] = () => [],
  expectedFunctions: readonly string[] = serverlessFunctions(),
): string[] => {
  const problems: string[] = [];
  const resources = Object.entries(template.Resources);
  const functions = resources.filter(([, resource]) => resource.Type === "AWS::Lambda::Function");
  const roles = new Set<string>();

  for (const name of expectedFunctions) {
    const found = functions.find(([, fn]) =>
      String(fn.Properties.FunctionName).endsWith(`-${name}`),
    );
    if (!found) {
      problems.push(`function ${name} is missing`);
      continue;
    }
    const [id, fn] = found;
    if (fn.Properties.Runtime !== "nodejs22.x")
      problems.push(`${id}: runtime ${String(fn.Properties.Runtime)}, expected nodejs22.x`);
    if (JSON.stringify(fn.Properties.Architectures) !== '["arm64"]')
      problems.push(`${id}: not arm64`);
    const role = JSON.stringify(fn.Properties.Role);
    if (!role || role.includes("IamRoleLambdaExecution"))
      problems.push(`${id}: uses the shared role, expected its own`);
    if (roles.has(role)) problems.push(`${id}: shares its role with another function`);
    roles.add(role);
    const files = zipListing(name);
    if (files.length > 0) {
      if (!files.includes(`functions/${name}.mjs`))
        problems.push(`${name}.zip: no functions/${name}.mjs bundle`);
      if (!files.includes(".packaged/orchestrator.json"))
        problems.push(`${name}.zip: no packaged config (.packaged/orchestrator.json)`);
      if (files.some((file) => file.startsWith("node_modules/")))
        problems.push(`${name}.zip: ships node_modules (should be bundled)`);
    }
  }

  const schedules = resources.filter(
    ([, resource]) => resource.Type === "AWS::Scheduler::Schedule",
  );
  const scheduled = config.pipelines.filter((pipeline) => pipeline.schedule);
  if (schedules.length !== scheduled.length) {
    problems.push(`${schedules.length} schedules for ${scheduled.length} scheduled pipelines`);
  }
  for (const pipeline of scheduled) {
    const match = schedules.find(([, schedule]) => {
      const input = JSON.parse(
        String((schedule.Properties.Target as { Input?: string }).Input ?? "{}"),
      );
      return input.pipeline === pipeline.name;
    });
    if (!match) {
      problems.push(`no schedule for pipeline ${pipeline.name}`);
      continue;
    }
    const [id, schedule] = match;
    const properties = schedule.Properties;
    if (properties.ScheduleExpression !== `cron(${pipeline.schedule?.cron})`)
      problems.push(`${id}: expression ${String(properties.ScheduleExpression)}`);
    if (properties.ScheduleExpressionTimezone !== pipeline.schedule?.timezone)
      problems.push(`${id}: time zone ${String(properties.ScheduleExpressionTimezone)}`);
    if ((properties.FlexibleTimeWindow as { Mode?: string }).Mode !== "OFF")
      problems.push(`${id}: flexible time window is not OFF`);
    const input = JSON.parse(String((properties.Target as { Input: string }).Input));
    if (input.scheduledTime !== "<aws.scheduler.scheduled-time>")
      problems.push(`${id}: input lacks the scheduled-time placeholder`);
  }

  // Triggers: nothing may be dropped silently.
  const functionRef = (name: string) =>
    functions.find(([, fn]) => String(fn.Properties.FunctionName).endsWith(`-${name}`))?.[0];
  const mentions = (value: unknown, id: string | undefined) =>
    id !== undefined && JSON.stringify(value).includes(`"${id}"`);
  for (const name of ["start-pipelines", "on-image-state", "watch-rollouts"]) {
    const id = functionRef(name);
    const invokeConfig = resources.find(
      ([, resource]) =>
        resource.Type === "AWS::Lambda::EventInvokeConfig" &&
        mentions(resource.Properties.FunctionName, id),
    );
    if (
      id &&
      !JSON.stringify(invokeConfig?.[1].Properties.DestinationConfig ?? {}).includes("OnFailure")
    )
      problems.push(`${name}: no on-failure destination for failed asynchronous events`);
  }
  const imageStateRule = resources.find(
    ([, resource]) =>
      resource.Type === "AWS::Events::Rule" &&
      mentions(resource.Properties.Targets, functionRef("on-image-state")),
  );
  if (
    functionRef("on-image-state") &&
    !JSON.stringify(imageStateRule?.[1].Properties.EventPattern ?? {}).includes("aws.imagebuilder")
  )
    problems.push("on-image-state: no EventBridge rule for Image Builder state changes");
  if (
    functionRef("on-image-state") &&
    !resources.some(
      ([, resource]) =>
        resource.Type === "AWS::Events::Rule" &&
        mentions(resource.Properties.Targets, functionRef("on-image-state")) &&
        JSON.stringify(resource.Properties.EventPattern ?? {}).includes(
          "EC2 Image Builder Image Pipeline Automatically Disabled",
        ),
    )
  )
    problems.push("on-image-state: no EventBridge rule for pipelines Image Builder disabled");
  const watchRules = resources.filter(
    ([, resource]) =>
      resource.Type === "AWS::Events::Rule" &&
      mentions(resource.Properties.Targets, functionRef("watch-rollouts")),
  );
  if (functionRef("watch-rollouts")) {
    if (
      !watchRules.some(([, rule]) =>
        JSON.stringify(rule.Properties.EventPattern ?? {}).includes("aws.autoscaling"),
      )
    )
      problems.push("watch-rollouts: no rule for forwarded instance-refresh events");
    if (
      !watchRules.some(([, rule]) =>
        /^rate\(5 minutes\)$/.test(String(rule.Properties.ScheduleExpression)),
      )
    )
      problems.push("watch-rollouts: no 5-minute poll schedule");
  }
  const mapping = resources.find(
    ([, resource]) =>
      resource.Type === "AWS::Lambda::EventSourceMapping" &&
      mentions(resource.Properties.FunctionName, functionRef("roll-out-target")),
  );
  if (functionRef("roll-out-target")) {
    if (!mapping) problems.push("roll-out-target: no SQS event source mapping");
    else if (
      !asArray(mapping[1].Properties.FunctionResponseTypes as string[]).includes(
        "ReportBatchItemFailures",
      )
    )
      problems.push("roll-out-target: the SQS mapping does not report partial batch failures");
  }

  problems.push(...alarmTopicProblems(template.Resources));
  problems.push(...queuePolicyProblems(template.Resources));

  for (const [id, resource] of resources) {
    if (resource.Type !== "AWS::IAM::Role") continue;
    const policies = (resource.Properties.Policies ?? []) as Array<{
      PolicyDocument: { Statement: Statement[] };
    }>;
    for (const statement of policies.flatMap((policy) => policy.PolicyDocument.Statement)) {
      if (statement.Effect !== "Allow") continue;
      const resourcesOf = asArray(statement.Resource);
      if (!resourcesOf.includes("*")) continue;
      for (const action of asArray(statement.Action)) {
        if (action.includes("*")) problems.push(`${id}: wildcard action ${action} on "*"`);
        else if (!READ_ONLY.test(action) && !STAR_ONLY_ALLOWED.has(action))
          problems.push(`${id}: mutating action ${action} on "*"`);
      }
    }
  }
  return problems;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dir = process.argv[2] ?? ".serverless";
  const template = JSON.parse(
    readFileSync(join(dir, "cloudformation-template-update-stack.json"), "utf8"),
  );
  const listing = (name: string) =>
    execFileSync("unzip", ["-Z1", join(dir, `${name}.zip`)], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
  const problems = checkTemplate(template, loadConfig(), listing);
  if (problems.length > 0) {
    console.error(`template check failed:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(
    `template check passed: ${serverlessFunctions().join(", ")}; schedules, roles and IAM scoping as expected`,
  );
}
