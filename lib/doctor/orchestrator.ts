import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  type SchedulerClient,
} from "@aws-sdk/client-scheduler";
import {
  paginateListSubscriptions,
  paginateListSubscriptionsByTopic,
  type SNSClient,
  type Subscription,
} from "@aws-sdk/client-sns";
import { paginateDescribeParameters, type SSMClient } from "@aws-sdk/client-ssm";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { SCHEDULED_TIME_PLACEHOLDER, scheduleName } from "../deployment/index.ts";
import { errorMessage } from "../errors.ts";
import type { DoctorCheck } from "./report.ts";

/**
 * The doctor's checks of the orchestrator's own deployment, run in the deployed watch-rollouts
 * function with its role: each pipeline's EventBridge Scheduler schedule, on-image-state's
 * subscriptions to the pipelines' SNS topics, the alert emails' subscriptions, and the Slack
 * webhook parameter (whose value is never read). Read-only: Get/List/Describe calls only.
 */

/**
 * Where the orchestrator is deployed, as lib/doctor/event-rules.ts reads it from watch-rollouts'
 * environment (serverless.yml): its functions are `<service>-<stage>-<function>`.
 */
export interface OrchestratorDeployment {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly service: string;
  readonly stage: string;
  functionArn(fn: string): string;
}

export interface OrchestratorDoctorDeps {
  readonly config: OrchestratorConfig;
  readonly deployment: OrchestratorDeployment;
  /** The stack's alerts topic (ALERTS_TOPIC_ARN): the email subscriptions are on it. */
  readonly alertsTopicArn: string;
  /** Scheduler in the orchestrator's region. */
  readonly scheduler: SchedulerClient;
  /** SNS in a topic's region (subscriptions live in their topic's region). */
  readonly sns: (region: string) => SNSClient;
  /** SSM in the orchestrator's region. */
  readonly ssm: SSMClient;
}

const pass = (check: string, detail: string): DoctorCheck => ({ check, ok: true, detail });
const fail = (check: string, detail: string, fix: string): DoctorCheck => ({
  check,
  ok: false,
  detail,
  fix,
});

const nameOf = (error: unknown) => (error instanceof Error ? error.name : "");
const deployCommand = (deployment: OrchestratorDeployment) =>
  `npx serverless deploy --stage ${deployment.stage} --region ${deployment.region}`;
/** Single-quoted for a POSIX shell. */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * A pipeline's schedule as serverless.yml creates it (lib/deployment deriveSettings, compiled by
 * osls into AWS::Scheduler::Schedule): the configured cron and time zone, ENABLED unless the
 * config disables it, invoking start-pipelines with the pipeline's name.
 */
const checkSchedule = async (
  pipeline: PipelineConfig & { schedule: NonNullable<PipelineConfig["schedule"]> },
  deps: OrchestratorDoctorDeps,
): Promise<DoctorCheck> => {
  const { deployment } = deps;
  const name = scheduleName(deployment.service, deployment.stage, pipeline.name);
  const check = `schedule ${name}`;
  const expected = {
    expression: `cron(${pipeline.schedule.cron})`,
    timezone: pipeline.schedule.timezone,
    state: pipeline.schedule.enabled === false ? "DISABLED" : "ENABLED",
    target: deployment.functionArn("start-pipelines"),
  };
  // The whole schedule as serverless.yml declares it, for create-schedule or update-schedule
  // (UpdateSchedule replaces every field, unset ones by their defaults: API reference).
  const definition = (roleArn: string) =>
    [
      `--region ${deployment.region} --name ${name}`,
      `--schedule-expression ${shellQuote(expected.expression)}`,
      `--schedule-expression-timezone ${expected.timezone}`,
      "--flexible-time-window Mode=OFF",
      `--target ${shellQuote(
        JSON.stringify({
          Arn: expected.target,
          RoleArn: roleArn,
          Input: JSON.stringify({
            pipeline: pipeline.name,
            scheduledTime: SCHEDULED_TIME_PLACEHOLDER,
          }),
        }),
      )}`,
      `--state ${expected.state}`,
      `--description ${shellQuote(`Starts Image Builder pipeline ${pipeline.name} (ami-orchestrator)`)}`,
    ].join(" ");
  let schedule: GetScheduleCommandOutput;
  try {
    // No GroupName: serverless.yml's schedules are in the default group.
    schedule = await deps.scheduler.send(new GetScheduleCommand({ Name: name }));
  } catch (error) {
    if (nameOf(error) === "ResourceNotFoundException")
      return fail(
        check,
        `no schedule ${name} in ${deployment.accountId}/${deployment.region}: ${pipeline.name} is never built on its cron`,
        `deploy the stage (${deployCommand(deployment)}); if the stack is already up to date (the schedule was deleted by hand, which CloudFormation does not notice), recreate it: aws scheduler create-schedule ${definition(`<the ARN of SchedulerInvokeRole: aws cloudformation describe-stack-resource --stack-name ${deployment.service}-${deployment.stage} --logical-resource-id SchedulerInvokeRole>`)}`,
      );
    return fail(
      check,
      errorMessage(error),
      "allow scheduler:GetSchedule on the stage's schedules to WatchRolloutsRole (serverless.yml)",
    );
  }
  // Timezone: UTC when unset (API reference, CreateSchedule ScheduleExpressionTimezone).
  const timezone = schedule.ScheduleExpressionTimezone ?? "UTC";
  let input: { pipeline?: unknown } = {};
  try {
    input = JSON.parse(schedule.Target?.Input ?? "{}") as { pipeline?: unknown };
  } catch {
    // Reported as a wrong input below.
  }
  const problems = [
    schedule.State !== expected.state && `it is ${schedule.State}, not ${expected.state}`,
    schedule.ScheduleExpression !== expected.expression &&
      `its expression is ${schedule.ScheduleExpression}, not ${expected.expression}`,
    timezone !== expected.timezone && `its time zone is ${timezone}, not ${expected.timezone}`,
    schedule.Target?.Arn !== expected.target &&
      `it invokes ${schedule.Target?.Arn}, not ${expected.target}`,
    input.pipeline !== pipeline.name &&
      `its input names pipeline ${JSON.stringify(input.pipeline)}, not ${pipeline.name}`,
  ].filter((problem): problem is string => typeof problem === "string");
  const detail = `${expected.state} ${expected.expression} ${expected.timezone} → ${deployment.service}-${deployment.stage}-start-pipelines`;
  if (problems.length === 0) return pass(check, detail);
  // A redeploy would not help: CloudFormation only updates resources whose template changed.
  return fail(
    check,
    `changed since it was deployed (edited by hand, or a stale deploy): ${problems.join("; ")}`,
    `aws scheduler update-schedule ${definition(schedule.Target?.RoleArn ?? "<the ARN of SchedulerInvokeRole>")}`,
  );
};

/** "PendingConfirmation" is what SNS lists for a subscription not yet confirmed (no ARN yet). */
const isConfirmed = (subscription: Subscription) =>
  subscription.SubscriptionArn?.startsWith("arn:") === true;

const regionOfArn = (arn: string) => arn.split(":")[3] ?? "";

/**
 * on-image-state's subscription to each pipeline's topic. The topics are usually in the build
 * account, whose topic policy the orchestrator cannot be assumed to read through: ListSubscriptions
 * lists the requester's own subscriptions (API reference), which the subscription serverless.yml
 * creates is (its stack subscribes), in the topic's region, with no permission on the topic.
 * ListSubscriptionsByTopic and GetTopicAttributes on another account's topic would need its
 * topic policy to allow them.
 */
const checkTopicSubscriptions = async (deps: OrchestratorDoctorDeps): Promise<DoctorCheck[]> => {
  const { deployment } = deps;
  const endpoint = deployment.functionArn("on-image-state");
  const topics = [
    ...new Set(deps.config.pipelines.flatMap((pipeline) => pipeline.notificationTopicArn ?? [])),
  ];
  const regions = [...new Set(topics.map(regionOfArn))];
  const listed = new Map<string, Subscription[] | Error>();
  await Promise.all(
    regions.map(async (region) => {
      try {
        const subscriptions: Subscription[] = [];
        for await (const page of paginateListSubscriptions({ client: deps.sns(region) }, {}))
          subscriptions.push(...(page.Subscriptions ?? []));
        listed.set(region, subscriptions);
      } catch (error) {
        listed.set(region, error instanceof Error ? error : new Error(String(error)));
      }
    }),
  );
  return topics.map((topicArn) => {
    const check = `subscription ${topicArn} → on-image-state`;
    const subscriptions = listed.get(regionOfArn(topicArn));
    if (subscriptions instanceof Error || subscriptions === undefined)
      return fail(
        check,
        errorMessage(subscriptions),
        "allow sns:ListSubscriptions (resource *) to WatchRolloutsRole (serverless.yml)",
      );
    const ours = subscriptions.filter(
      (subscription) =>
        subscription.TopicArn === topicArn &&
        subscription.Protocol === "lambda" &&
        subscription.Endpoint === endpoint,
    );
    if (ours.some(isConfirmed)) return pass(check, `lambda subscription confirmed (${endpoint})`);
    const topicAccount = topicArn.split(":")[4];
    const subscribe = JSON.stringify({
      Sid: `AmiOrchestratorSubscribe${deployment.accountId}`,
      Effect: "Allow",
      Principal: { AWS: `arn:${deployment.partition}:iam::${deployment.accountId}:root` },
      Action: "sns:Subscribe",
      Resource: topicArn,
    });
    return fail(
      check,
      ours.length > 0
        ? `the subscription of ${endpoint} is PendingConfirmation`
        : `${endpoint} is not subscribed: its notifications never reach the orchestrator (the EventBridge rule still does)`,
      `deploy the stage (${deployCommand(deployment)}), which subscribes on-image-state${topicAccount === deployment.accountId ? "" : `; if it fails with AuthorizationError, add to the topic policy of ${topicArn} (account ${topicAccount}): ${subscribe}`}`,
    );
  });
};

/**
 * Each configured address's email subscription on the alerts topic: SNS sends a confirmation
 * email and the subscription is "PendingConfirmation" until it is followed; an unconfirmed one is
 * deleted after 48 hours (SNS developer guide, "Deleting an Amazon SNS subscription and topic"),
 * and then no longer listed at all.
 */
const checkAlertEmails = async (deps: OrchestratorDoctorDeps): Promise<DoctorCheck[]> => {
  const addresses = deps.config.notifications.email;
  if (addresses.length === 0) return [];
  const topicArn = deps.alertsTopicArn;
  const subscriptions: Subscription[] = [];
  try {
    for await (const page of paginateListSubscriptionsByTopic(
      { client: deps.sns(regionOfArn(topicArn)) },
      { TopicArn: topicArn },
    ))
      subscriptions.push(...(page.Subscriptions ?? []));
  } catch (error) {
    return addresses.map((address) =>
      fail(
        `alert email ${address}`,
        errorMessage(error),
        "allow sns:ListSubscriptionsByTopic on AlertsTopic to WatchRolloutsRole (serverless.yml)",
      ),
    );
  }
  const resubscribe = (address: string) =>
    `aws sns subscribe --region ${regionOfArn(topicArn)} --topic-arn ${topicArn} --protocol email --notification-endpoint ${address}`;
  return addresses.map((address) => {
    const check = `alert email ${address}`;
    // Email addresses compare case-insensitively (SNS keeps the endpoint as given).
    const own = subscriptions.filter(
      (subscription) =>
        subscription.Protocol === "email" &&
        subscription.Endpoint?.toLowerCase() === address.toLowerCase(),
    );
    if (own.some(isConfirmed)) return pass(check, `subscription to ${topicArn} confirmed`);
    if (own.length > 0)
      return fail(
        check,
        `PendingConfirmation: ${address} receives no alert until the subscription is confirmed`,
        `confirm the email "AWS Notification - Subscription Confirmation" sent to ${address} (check the spam folder); to send a new one: ${resubscribe(address)}`,
      );
    return fail(
      check,
      `no subscription of ${address} to ${topicArn} (SNS deletes one left unconfirmed for 48 hours)`,
      `${resubscribe(address)}, then confirm the email sent to ${address} (check the spam folder)`,
    );
  });
};

/**
 * The Slack webhook parameter exists. DescribeParameters returns metadata only, never a value
 * (API reference, ParameterMetadata), so the doctor cannot leak the URL. Its results are
 * best-effort per page: a page may hold fewer matches than asked, even none, with a NextToken
 * (API reference, DescribeParameters), hence every page is read.
 */
const checkSlackParameter = async (deps: OrchestratorDoctorDeps): Promise<DoctorCheck[]> => {
  const name = deps.config.notifications.slack?.webhookUrlParameter;
  if (!name) return [];
  const check = `Slack webhook parameter ${name}`;
  try {
    for await (const page of paginateDescribeParameters(
      { client: deps.ssm },
      { ParameterFilters: [{ Key: "Name", Option: "Equals", Values: [name] }] },
    )) {
      const found = page.Parameters?.find((parameter) => parameter.Name === name);
      if (found) return [pass(check, `exists (${found.Type}), value not read`)];
    }
  } catch (error) {
    return [
      fail(
        check,
        errorMessage(error),
        "allow ssm:DescribeParameters (resource *) to WatchRolloutsRole (serverless.yml)",
      ),
    ];
  }
  return [
    fail(
      check,
      `no parameter ${name} in ${deps.deployment.accountId}/${deps.deployment.region}: Slack alerts cannot be sent`,
      `aws ssm put-parameter --region ${deps.deployment.region} --name ${name} --type SecureString --value '<the Slack incoming-webhook URL>'`,
    ),
  ];
};

/** Every check of the orchestrator's own deployment, in a stable order. */
export const checkOrchestratorDeployment = async (
  deps: OrchestratorDoctorDeps,
): Promise<DoctorCheck[]> => {
  const scheduled = deps.config.pipelines.flatMap((pipeline) =>
    pipeline.schedule ? [{ ...pipeline, schedule: pipeline.schedule }] : [],
  );
  const [schedules, topics, emails, slack] = await Promise.all([
    Promise.all(scheduled.map((pipeline) => checkSchedule(pipeline, deps))),
    checkTopicSubscriptions(deps),
    checkAlertEmails(deps),
    checkSlackParameter(deps),
  ]);
  return [...schedules, ...topics, ...emails, ...slack];
};
