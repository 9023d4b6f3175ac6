import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { normalizedName } from "./deployed-rules.ts";
import { generatedName } from "./iam/cloudformation.ts";
import { SERVERLESS_YML, serverlessResources } from "./iam/policies.ts";
import type { SandboxStackOutput } from "./model/cloudformation-stacks.ts";
import type { SandboxSubscription } from "./model/notifications.ts";
import type { SandboxSchedule } from "./model/scheduler.ts";
import { readServerlessYml } from "./serverless-yml.ts";

/**
 * What a deploy of serverless.yml creates besides roles and rules, read from the file and the
 * settings it derives from the config (nothing written by hand: change a schedule there and the
 * sandbox has the new one): the schedules and the SNS subscriptions.
 */

interface StackSite {
  readonly accountId: string;
  readonly region: string;
  readonly stage: string;
}

/** One of the stack's functions, `<service>-<stage>-<function>` (osls naming). */
const stackFunctionArn = (stack: StackSite, service: string, fn: string) =>
  `arn:aws:lambda:${stack.region}:${stack.accountId}:function:${service}-${stack.stage}-${fn}`;

/**
 * The EventBridge Scheduler schedules. osls compiles each `schedule` event with `method: scheduler` into
 * an AWS::Scheduler::Schedule (lib/plugins/aws/package/compile/events/schedule.js): State
 * ENABLED unless `enabled: false`, one schedule per rate expression, the event's name,
 * description and timezone, no group (so the default group), FlexibleTimeWindow Mode OFF, and a
 * target of the function's ARN with the event's `roleArn` and its `input` as JSON.
 */

interface ScheduleEvent {
  readonly schedule?: {
    readonly method?: string;
    readonly name?: string;
    readonly description?: string;
    readonly rate?: string | readonly string[];
    readonly timezone?: string;
    readonly enabled?: boolean;
    readonly groupName?: string;
    readonly roleArn?: unknown;
    readonly input?: unknown;
  };
}

export const deployedSchedules = (
  config: OrchestratorConfig,
  stack: StackSite,
  file = SERVERLESS_YML,
): SandboxSchedule[] => {
  const {
    document,
    service,
    resolveDerived: resolve,
  } = readServerlessYml(config, stack.stage, file);
  const stackName = `${service}-${stack.stage}`;
  // The only role reference the derived schedules make: the stack's SchedulerInvokeRole, which
  // has no RoleName (CloudFormation names it).
  const roleArn = (reference: unknown): string => {
    const getAtt = (reference as { "Fn::GetAtt"?: [string, string] } | undefined)?.["Fn::GetAtt"];
    if (getAtt?.[0] !== "SchedulerInvokeRole" || getAtt[1] !== "Arn")
      throw new Error(
        `serverless.yml: the sandbox does not resolve schedule role ${JSON.stringify(reference)}`,
      );
    return `arn:aws:iam::${stack.accountId}:role/${generatedName(stackName, "SchedulerInvokeRole")}`;
  };
  const schedules: SandboxSchedule[] = [];
  const functions = document.functions as Record<string, { events?: unknown }>;
  for (const [fn, definition] of Object.entries(functions)) {
    const events = (resolve(definition.events) ?? []) as ScheduleEvent[];
    for (const { schedule } of events) {
      if (schedule?.method !== "scheduler") continue;
      const input = schedule.input;
      for (const expression of [schedule.rate ?? []].flat()) {
        // osls refuses a name with more than one rate expression; only then is one generated.
        if (!schedule.name) throw new Error(`serverless.yml: ${fn}'s schedule has no name`);
        schedules.push({
          accountId: stack.accountId,
          region: stack.region,
          groupName: schedule.groupName ?? "default",
          name: schedule.name,
          state: schedule.enabled === false ? "DISABLED" : "ENABLED",
          scheduleExpression: expression,
          ...(schedule.timezone ? { scheduleExpressionTimezone: schedule.timezone } : {}),
          ...(schedule.description ? { description: schedule.description } : {}),
          flexibleTimeWindow: { Mode: "OFF" },
          target: {
            Arn: stackFunctionArn(stack, service, fn),
            RoleArn: roleArn(schedule.roleArn),
            ...(input === undefined
              ? {}
              : { Input: typeof input === "string" ? input : JSON.stringify(input) }),
          },
        });
      }
    }
  }
  return schedules;
};

/**
 * The stack's SNS subscriptions, made by the orchestrator's account: on-image-state to each
 * pipeline's Image Builder topic (osls's `sns` event with an ARN, in the topic's region, the
 * topics usually in build accounts), and each alert address to the alerts topic
 * (AWS::SNS::Subscription, alertEmailSubscriptions), `alertsTopicArn` standing for its Ref.
 */
export const deployedSubscriptions = (
  config: OrchestratorConfig,
  stack: StackSite & { readonly alertsTopicArn: string },
  file = SERVERLESS_YML,
): Array<Omit<SandboxSubscription, "arn">> => {
  const { service, derived } = readServerlessYml(config, stack.stage, file);
  const topics = derived.onImageStateEvents.flatMap(
    (event) => (event as { sns?: { arn?: string } }).sns?.arn ?? [],
  );
  const emails = Object.values(derived.alertEmailSubscriptions).map(
    (resource) =>
      (resource as { Properties: { TopicArn: unknown; Protocol: string; Endpoint: string } })
        .Properties,
  );
  return [
    ...topics.map((topicArn) => ({
      topicArn,
      protocol: "lambda",
      endpoint: stackFunctionArn(stack, service, "on-image-state"),
      owner: stack.accountId,
    })),
    ...emails.map((properties) => {
      if ((properties.TopicArn as { Ref?: string }).Ref !== "AlertsTopic")
        throw new Error("serverless.yml: an alert email subscription not on AlertsTopic");
      return {
        topicArn: stack.alertsTopicArn,
        protocol: properties.Protocol,
        endpoint: properties.Endpoint,
        owner: stack.accountId,
      };
    }),
  ];
};

interface OutputDefinition {
  readonly Value: unknown;
  readonly Description?: unknown;
  readonly Export?: { readonly Name: unknown };
}

/**
 * The stack's outputs, as DescribeStacks returns them once CloudFormation created it from the
 * packaged template: serverless.yml's `resources` parts merged (osls merges them into the
 * compiled template), each `Outputs` entry's Value and Export name resolved like the resources
 * (`resources` stands for the table, queues and topic the sandbox has; the others get
 * CloudFormation's generated names), each function's `<Name>LambdaFunction` its name and ARN
 * (osls naming.js getLambdaLogicalId; `<service>-<stage>-<function>` unless it has a `name`), and
 * the one output osls adds itself: ServerlessDeploymentBucketName, exported as
 * `sls-<service>-<stage>-ServerlessDeploymentBucketName` (osls package/lib/
 * core-cloudformation-template.json, add-export-name-for-outputs.js, which runs before the
 * custom resources are merged: theirs get no export). Source: CloudFormation API reference,
 * DescribeStacks and Output (OutputKey, OutputValue, Description, ExportName).
 */
export const deployedOutputs = (
  config: OrchestratorConfig,
  stack: StackSite & { readonly resources: Record<string, Record<string, string>> },
  file = SERVERLESS_YML,
): SandboxStackOutput[] => {
  const { document, service } = readServerlessYml(config, stack.stage, file);
  const stackName = `${service}-${stack.stage}`;
  const functions = Object.fromEntries(
    Object.entries(document.functions as Record<string, { name?: unknown }>).map(
      ([fn, definition]) => {
        const name =
          typeof definition.name === "string" ? definition.name : `${service}-${stack.stage}-${fn}`;
        return [
          `${normalizedName(fn)}LambdaFunction`,
          {
            Ref: name,
            Arn: `arn:aws:lambda:${stack.region}:${stack.accountId}:function:${name}`,
          },
        ];
      },
    ),
  );
  const bucket = generatedName(stackName, "ServerlessDeploymentBucket", 63).toLowerCase();
  const { resolve } = serverlessResources(
    config,
    { ...stack, stackName, resources: { ...functions, ...stack.resources } },
    file,
  );
  const parts = [document.resources ?? []].flat() as Array<{ Outputs?: unknown }>;
  const outputs = Object.assign(
    {},
    ...parts.map((part) => (typeof part.Outputs === "object" ? part.Outputs : {})),
  ) as Record<string, OutputDefinition>;
  return [
    {
      OutputKey: "ServerlessDeploymentBucketName",
      OutputValue: bucket,
      ExportName: `sls-${service}-${stack.stage}-ServerlessDeploymentBucketName`,
    },
    ...Object.entries(outputs).map(([key, output]) => ({
      OutputKey: key,
      OutputValue: String(resolve(output.Value)),
      ...(output.Description === undefined
        ? {}
        : { Description: String(resolve(output.Description)) }),
      ...(output.Export ? { ExportName: String(resolve(output.Export.Name)) } : {}),
    })),
  ];
};
