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
import { arnParts } from "../aws/arns.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { SCHEDULED_TIME_PLACEHOLDER, scheduleName } from "../deployment/index.ts";
import { errorMessage, errorName } from "../errors.ts";
import type { OrchestratorDeployment } from "./deployment.ts";
import { type DoctorCheck, fail, pass } from "./report.ts";

/**
 * The doctor's checks of the orchestrator's own deployment, run in the deployed watch-rollouts
 * function with its role: each pipeline's EventBridge Scheduler schedule, on-image-state's
 * subscriptions to the pipelines' SNS topics, the alert emails' subscriptions, and the Slack
 * webhook parameter (whose value is never read). Read-only: Get/List/Describe calls only.
 */

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

const deployCommand = (deployment: OrchestratorDeployment) =>
  `npx serverless deploy --stage ${deployment.stage} --region ${deployment.region}`;
/** Single-quoted for a POSIX shell. */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The shell variable a fix sets to SchedulerInvokeRole's ARN when the doctor does not know it. */
const ROLE_ARN = "$ROLE_ARN";

/**
 * Sets ROLE_ARN to SchedulerInvokeRole's ARN. serverless.yml gives the role no RoleName, so
 * CloudFormation generates one; the resource's PhysicalResourceId is that name (what Ref returns
 * for AWS::IAM::Role: CloudFormation user guide), not the ARN Target.RoleArn needs, hence
 * GetRole for its Arn.
 */
const roleArnLookup = (deployment: OrchestratorDeployment) =>
  `ROLE_ARN=$(aws iam get-role --role-name "$(aws cloudformation describe-stack-resource --region ${deployment.region} --stack-name ${deployment.service}-${deployment.stage} --logical-resource-id SchedulerInvokeRole --query StackResourceDetail.PhysicalResourceId --output text)" --query Role.Arn --output text)`;

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
  // With ROLE_ARN as the role, the shell expands it inside the single-quoted target JSON.
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
      ).replace(`"${ROLE_ARN}"`, `"'"${ROLE_ARN}"'"`)}`,
      `--state ${expected.state}`,
      `--description ${shellQuote(`Starts Image Builder pipeline ${pipeline.name} (ami-orchestrator)`)}`,
    ].join(" ");
  let schedule: GetScheduleCommandOutput;
  try {
    // No GroupName: serverless.yml's schedules are in the default group.
    schedule = await deps.scheduler.send(new GetScheduleCommand({ Name: name }));
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException")
      return fail(
        check,
        `no schedule ${name} in ${deployment.accountId}/${deployment.region}: ${pipeline.name} is never built on its cron`,
        `deploy the stage (${deployCommand(deployment)}); if the stack is already up to date (the schedule was deleted by hand, which CloudFormation does not notice), recreate it: ${roleArnLookup(deployment)} && aws scheduler create-schedule ${definition(ROLE_ARN)}`,
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
    schedule.Target?.RoleArn
      ? `aws scheduler update-schedule ${definition(schedule.Target.RoleArn)}`
      : `${roleArnLookup(deployment)} && aws scheduler update-schedule ${definition(ROLE_ARN)}`,
  );
};

/** "PendingConfirmation" is what SNS lists for a subscription not yet confirmed (no ARN yet). */
const isConfirmed = (subscription: Subscription) =>
  subscription.SubscriptionArn?.startsWith("arn:") === true;

/**
 * "Deleted" is what SNS lists instead of an ARN for a deleted subscription (unsubscribed by an
 * account other than its owner, for one) until it clears it, within 72 hours; meanwhile the
 * subscription's owner may not subscribe the same endpoint again, but the topic's owner may
 * (AWS Knowledge Center, "recreate a Deleted Amazon SNS topic subscription"; re:Post, "Why can't
 * I delete my SNS subscription": Deleted and PendingConfirmation ones are removed automatically).
 * It receives nothing and is never confirmed.
 */
const isDeleted = (subscription: Subscription) => subscription.SubscriptionArn === "Deleted";

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
  const regions = [...new Set(topics.map((topic) => arnParts(topic).region))];
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
    const subscriptions = listed.get(arnParts(topicArn).region);
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
    const topicAccount = arnParts(topicArn).accountId;
    const subscribe = JSON.stringify({
      Sid: `AmiOrchestratorSubscribe${deployment.accountId}`,
      Effect: "Allow",
      Principal: { AWS: `arn:${deployment.partition}:iam::${deployment.accountId}:root` },
      Action: "sns:Subscribe",
      Resource: topicArn,
    });
    const topicPolicy =
      topicAccount === deployment.accountId
        ? ""
        : `; if it fails with AuthorizationError, add to the topic policy of ${topicArn} (account ${topicAccount}): ${subscribe}`;
    const pending = ours.filter((subscription) => !isDeleted(subscription));
    if (pending.length === 0 && ours.length > 0)
      // The stack's AWS::SNS::Subscription is still there for CloudFormation: a deploy would
      // not subscribe again.
      return fail(
        check,
        `the subscription of ${endpoint} was deleted (SNS lists it as Deleted until it clears it, within 72 hours): its notifications never reach the orchestrator (the EventBridge rule still does)`,
        `with account ${deployment.accountId}'s credentials: aws sns subscribe --region ${arnParts(topicArn).region} --topic-arn ${topicArn} --protocol lambda --notification-endpoint ${endpoint}${topicPolicy}`,
      );
    return fail(
      check,
      pending.length > 0
        ? `the subscription of ${endpoint} is PendingConfirmation`
        : `${endpoint} is not subscribed: its notifications never reach the orchestrator (the EventBridge rule still does)`,
      `deploy the stage (${deployCommand(deployment)}), which subscribes on-image-state${topicPolicy}`,
    );
  });
};

/**
 * Each configured address's email subscription on the alerts topic: SNS sends a confirmation
 * email and the subscription is "PendingConfirmation" until it is followed; an unconfirmed one is
 * deleted after 48 hours (SNS developer guide, "Deleting an Amazon SNS subscription and topic"),
 * listed as "Deleted" until SNS removes it, and then no longer listed at all.
 */
const checkAlertEmails = async (deps: OrchestratorDoctorDeps): Promise<DoctorCheck[]> => {
  const addresses = deps.config.notifications.email;
  if (addresses.length === 0) return [];
  const topicArn = deps.alertsTopicArn;
  const subscriptions: Subscription[] = [];
  try {
    for await (const page of paginateListSubscriptionsByTopic(
      { client: deps.sns(arnParts(topicArn).region) },
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
    `aws sns subscribe --region ${arnParts(topicArn).region} --topic-arn ${topicArn} --protocol email --notification-endpoint ${address}`;
  return addresses.map((address) => {
    const check = `alert email ${address}`;
    // Email addresses compare case-insensitively (SNS keeps the endpoint as given).
    const own = subscriptions.filter(
      (subscription) =>
        subscription.Protocol === "email" &&
        subscription.Endpoint?.toLowerCase() === address.toLowerCase(),
    );
    if (own.some(isConfirmed)) return pass(check, `subscription to ${topicArn} confirmed`);
    if (own.length > 0 && own.every(isDeleted))
      return fail(
        check,
        `the subscription of ${address} to ${topicArn} was deleted (SNS lists it as Deleted until it clears it, within 72 hours): ${address} receives no alert`,
        `with the credentials of account ${arnParts(topicArn).accountId} (the topic's owner, which may subscribe the address again while it is listed as Deleted): ${resubscribe(address)}, then confirm the email sent to ${address} (check the spam folder)`,
      );
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
      // Not --value: AWS CLI v1 fetches a parameter value that starts with https:// and stores
      // the page instead (aws/aws-cli#3076, #2507); values given by --cli-input-json are taken
      // as they are, by v1 and v2 alike.
      `aws ssm put-parameter --region ${deps.deployment.region} --cli-input-json ${shellQuote(
        JSON.stringify({
          Name: name,
          Type: "SecureString",
          Value: "<the Slack incoming-webhook URL>",
        }),
      )}`,
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
