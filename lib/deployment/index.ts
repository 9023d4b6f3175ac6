import { createHash } from "node:crypto";
import type { OrchestratorConfig } from "../config/schema.ts";
import { INSTANCE_REFRESH_OUTCOMES } from "../events/instance-refresh.ts";
import { LAUNCH_UNSUCCESSFUL_DETAIL_TYPE } from "../events/launch-unsuccessful.ts";

/**
 * What serverless.yml derives from the config (through serverless/derived.cjs): one EventBridge
 * Scheduler schedule per scheduled pipeline, the pipeline ARNs that scope IAM, and the alert
 * email subscriptions. Pure, so it is unit-tested rather than eyeballed in a template.
 */

/** The placeholder Scheduler replaces with the schedule's own fire time. */
export const SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>";

/** Scheduler names: 1-64 of [0-9a-zA-Z-_.]; long ones keep a hash so they stay unique. */
export const scheduleName = (service: string, stage: string, pipeline: string): string => {
  const name = `${service}-${stage}-${pipeline}`.replace(/[^\w.-]/g, "-");
  if (name.length <= 64) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, 55)}-${hash}`;
};

/** Image Builder image-state changes that on-image-state acts on (AVAILABLE) or alerts on (FAILED). */
export const IMAGE_STATE_PATTERN = {
  source: ["aws.imagebuilder"],
  "detail-type": ["EC2 Image Builder Image State Change"],
  detail: { state: { status: ["AVAILABLE", "FAILED"] } },
};

/**
 * Image Builder's notice that it disabled a pipeline after repeated failed builds: on-image-state
 * alerts on it. A pattern of its own, since it has no `detail.state` to filter on (EventBridge
 * reference, "EC2 Image Builder events").
 */
export const PIPELINE_AUTO_DISABLED_PATTERN = {
  source: ["aws.imagebuilder"],
  "detail-type": ["EC2 Image Builder Image Pipeline Automatically Disabled"],
};

/**
 * The instance-refresh events target accounts forward (templates/target-account-role.yml) and
 * watch-rollouts accepts: every outcome its parser knows, so nothing forwarded is dropped.
 */
export const INSTANCE_REFRESH_PATTERN = {
  source: ["aws.autoscaling"],
  "detail-type": INSTANCE_REFRESH_OUTCOMES.map(
    (outcome) => `EC2 Auto Scaling Instance Refresh ${outcome}`,
  ),
};

/**
 * Failed launches target accounts forward with the refresh events: explain-launch-failure
 * diagnoses them (EventBridge reference, "Amazon EC2 Auto Scaling events").
 */
export const LAUNCH_UNSUCCESSFUL_PATTERN = {
  source: ["aws.autoscaling"],
  "detail-type": [LAUNCH_UNSUCCESSFUL_DETAIL_TYPE],
};

const sub = (arn: string) => ({ "Fn::Sub": arn });

/** IAM role names: at most 64 characters (IAM User Guide, "IAM and AWS STS quotas"). */
const MAX_ROLE_NAME = 64;

/**
 * The fixed names of the function roles that assume the target-account role: the target
 * template trusts exactly these (by `aws:PrincipalArn`), so they cannot be CloudFormation's
 * generated names. `<service>-<stage>-<function>`, as templates/target-account-role.yml rebuilds
 * them from its OrchestratorService and OrchestratorStage parameters.
 */
export const targetAssumingRoleName = (
  service: string,
  stage: string,
  fn: "roll-out-target" | "watch-rollouts" | "explain-launch-failure",
): string => {
  const name = `${service}-${stage}-${fn}`;
  if (name.length > MAX_ROLE_NAME || !/^[\w+=,.@-]+$/.test(name))
    throw new Error(
      `role name ${name} is not a valid IAM role name of at most ${MAX_ROLE_NAME} characters: use a shorter stage (at most ${MAX_ROLE_NAME - `${service}--${fn}`.length} characters)`,
    );
  return name;
};

/** EventBridge rule names: 1-64 of `[.\-_A-Za-z0-9]` (API reference, PutRule `Name`). */
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

/**
 * watch-rollouts' poll schedule rule. Named here rather than by CloudFormation (whose generated
 * names end in a random suffix) so the function knows its ARN, the `resources[0]` of the only
 * "Scheduled Event" it takes as a poll; serverless.yml gives it as POLL_RULE_ARN.
 */
export const pollRuleName = (service: string, stage: string): string => {
  const name = `${service}-${stage}-watch-rollouts-poll`;
  if (!RULE_NAME.test(name))
    throw new Error(
      `rule name ${name} is not a valid EventBridge rule name of at most 64 characters: use a shorter stage (at most ${64 - `${service}--watch-rollouts-poll`.length} characters)`,
    );
  return name;
};

export interface DerivedSettings {
  readonly pipelineArns: string[];
  /** Images of the configured pipelines' build accounts and regions (GetImage). */
  readonly imageArns: unknown[];
  /** Workflow executions in the same accounts and regions (ListWorkflowStepExecutions). */
  readonly workflowExecutionArns: unknown[];
  /** Image recipes in the same accounts and regions (GetImageRecipe: what a failed build changed). */
  readonly imageRecipeArns: unknown[];
  /** Fixed role names of roll-out-target and watch-rollouts (trusted by name in target accounts). */
  readonly rollOutTargetRoleName: string;
  readonly watchRolloutsRoleName: string;
  readonly explainLaunchFailureRoleName: string;
  /** watch-rollouts' poll schedule rule (its ARN is the function's POLL_RULE_ARN). */
  readonly pollRuleName: string;
  /** The role roll-out-target assumes in each target account. */
  readonly targetRoleArns: unknown[];
  readonly onImageStateEvents: unknown[];
  /** watch-rollouts' rule for the instance-refresh events target accounts forward. */
  readonly instanceRefreshPattern: typeof INSTANCE_REFRESH_PATTERN;
  /** explain-launch-failure's rule for the failed launches target accounts forward. */
  readonly launchUnsuccessfulPattern: typeof LAUNCH_UNSUCCESSFUL_PATTERN;
  /** Target accounts allowed to put their instance-refresh events on this account's bus. */
  readonly eventBusPolicyStatement: Record<string, unknown>;
  readonly startPipelinesEvents: Array<{ schedule: Record<string, unknown> }>;
  readonly alertEmailSubscriptions: Record<string, unknown>;
  readonly slackWebhookParameter: string;
}

export const deriveSettings = (
  config: OrchestratorConfig,
  options: { service: string; stage: string; schedulerRoleArn: unknown; alertsTopic: unknown },
): DerivedSettings => ({
  pipelineArns: config.pipelines.map((pipeline) => pipeline.arn),
  imageArns: [
    ...new Set(
      config.pipelines.map((pipeline) => {
        const [, , , region, account] = pipeline.arn.split(":");
        return `arn:\${AWS::Partition}:imagebuilder:${region}:${account}:image/*`;
      }),
    ),
  ].map(sub),
  // The Service Authorization Reference gives ListWorkflowStepExecutions a required resource,
  // workflowExecution (arn:…:imagebuilder:<region>:<account>:workflow-execution/<id>): scoped to
  // the build accounts and regions like the images, not "*".
  workflowExecutionArns: [
    ...new Set(
      config.pipelines.map((pipeline) => {
        const [, , , region, account] = pipeline.arn.split(":");
        return `arn:\${AWS::Partition}:imagebuilder:${region}:${account}:workflow-execution/*`;
      }),
    ),
  ].map(sub),
  // Service Authorization Reference, EC2 Image Builder: GetImageRecipe takes imageRecipe,
  // arn:…:imagebuilder:<region>:<account>:image-recipe/<name>/<version>.
  imageRecipeArns: [
    ...new Set(
      config.pipelines.map((pipeline) => {
        const [, , , region, account] = pipeline.arn.split(":");
        return `arn:\${AWS::Partition}:imagebuilder:${region}:${account}:image-recipe/*`;
      }),
    ),
  ].map(sub),
  rollOutTargetRoleName: targetAssumingRoleName(options.service, options.stage, "roll-out-target"),
  watchRolloutsRoleName: targetAssumingRoleName(options.service, options.stage, "watch-rollouts"),
  explainLaunchFailureRoleName: targetAssumingRoleName(
    options.service,
    options.stage,
    "explain-launch-failure",
  ),
  pollRuleName: pollRuleName(options.service, options.stage),
  targetRoleArns: Object.values(config.accounts).map((account) =>
    sub(`arn:\${AWS::Partition}:iam::${account.id}:role/${account.roleName}`),
  ),
  eventBusPolicyStatement: {
    Sid: "TargetAccountsForwardInstanceRefreshEvents",
    Effect: "Allow",
    Principal: {
      AWS: Object.values(config.accounts).map((account) =>
        sub(`arn:\${AWS::Partition}:iam::${account.id}:root`),
      ),
    },
    Action: "events:PutEvents",
    Resource: sub(
      `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
    ),
    // Only the instance-refresh events watch-rollouts follows and the failed launches
    // explain-launch-failure diagnoses, nothing else a target account
    // might put on this bus. The keys and operators are the EventBridge user guide's own example
    // for a cross-account bus policy ("Example policy: Send events to a custom bus in a different
    // account"). The Service Authorization Reference lists both keys for events:PutEvents, both
    // ArrayOfString, hence ForAllValues for both (as the guide's example in the aws-cn partition
    // does); EventBridge fails an entry without Source or DetailType (API reference,
    // PutEventsRequestEntry), so neither set is ever empty.
    Condition: {
      "ForAllValues:StringEquals": {
        "events:source": INSTANCE_REFRESH_PATTERN.source,
        "events:detail-type": [
          ...INSTANCE_REFRESH_PATTERN["detail-type"],
          ...LAUNCH_UNSUCCESSFUL_PATTERN["detail-type"],
        ],
      },
    },
  },
  onImageStateEvents: [
    { eventBridge: { pattern: IMAGE_STATE_PATTERN } },
    { eventBridge: { pattern: PIPELINE_AUTO_DISABLED_PATTERN } },
    ...[
      ...new Set(config.pipelines.flatMap((pipeline) => pipeline.notificationTopicArn ?? [])),
    ].map((arn) => ({ sns: { arn } })),
  ],
  instanceRefreshPattern: INSTANCE_REFRESH_PATTERN,
  launchUnsuccessfulPattern: LAUNCH_UNSUCCESSFUL_PATTERN,
  startPipelinesEvents: config.pipelines.flatMap((pipeline) =>
    pipeline.schedule
      ? [
          {
            schedule: {
              method: "scheduler",
              name: scheduleName(options.service, options.stage, pipeline.name),
              description: `Starts Image Builder pipeline ${pipeline.name} (ami-orchestrator)`,
              rate: [`cron(${pipeline.schedule.cron})`],
              timezone: pipeline.schedule.timezone,
              enabled: pipeline.schedule.enabled,
              roleArn: options.schedulerRoleArn,
              input: { pipeline: pipeline.name, scheduledTime: SCHEDULED_TIME_PLACEHOLDER },
            },
          },
        ]
      : [],
  ),
  alertEmailSubscriptions: Object.fromEntries(
    config.notifications.email.map((address, index) => [
      `AlertEmailSubscription${index}`,
      {
        Type: "AWS::SNS::Subscription",
        Properties: { TopicArn: options.alertsTopic, Protocol: "email", Endpoint: address },
      },
    ]),
  ),
  // Deploys need a value even without Slack; the alerts function treats this one as "not set".
  slackWebhookParameter:
    config.notifications.slack?.webhookUrlParameter ?? "/ami-orchestrator/none",
});
