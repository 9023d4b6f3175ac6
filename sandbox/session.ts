import type { Context } from "aws-lambda";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { functionArn } from "./deployed-rules.ts";
import { type LocalDynamo, startDynamo } from "./dynamodb.ts";
import { SERVERLESS_YML } from "./iam/policies.ts";
import { installSandbox } from "./install.ts";
import { currentInvocation, runInInvocation } from "./invocation.ts";
import { type Invocation, SandboxLambdaService } from "./lambda-service.ts";
import { functionEnvironment } from "./serverless-yml.ts";
import { SlackReceiver } from "./slack-receiver.ts";
import {
  ALERTS_TOPIC,
  SANDBOX_STAGE,
  type WorldFromConfigOptions,
  worldFromConfig,
} from "./world-from-config.ts";

export type SandboxSession = Awaited<ReturnType<typeof startSandbox>>;

/**
 * Everything a scenario needs: the world built from the config, a real local DynamoDB (dynalite)
 * with the orchestrator's table, the SDK routed to the world, the environment serverless.yml
 * gives the functions, the real handlers, and the Lambda service that delivers their events.
 */
export const startSandbox = async (
  config: OrchestratorConfig,
  options: WorldFromConfigOptions & {
    observer?: (invocation: Invocation) => void | Promise<void>;
    /**
     * `aws-documented`: calls beyond AWS's documented request rates are throttled
     * (sandbox/model/throttling.ts). Off by default, so the other scenarios stay as fast and
     * deterministic as they were.
     */
    throttling?: "aws-documented";
  },
) => {
  const dynamo: LocalDynamo = await startDynamo();
  const world = await worldFromConfig(config, { tableName: dynamo.table, ...options });
  if (options.throttling === "aws-documented") world.throttleLikeAws();
  // Slack is a loopback HTTP server; its webhook URL sits in SSM like in a real deployment.
  const slack = await new SlackReceiver().start();
  const webhookParameter = config.notifications.slack?.webhookUrlParameter;
  if (webhookParameter) {
    world.ssm.put(
      world.orchestratorAccountId,
      world.orchestratorRegion,
      webhookParameter,
      slack.url,
    );
  }
  const installed = installSandbox(world);
  process.env.TABLE_NAME = dynamo.table;
  process.env.ROLLOUT_QUEUE_URL = world.queues.rollout.url;
  // The SDK's standard endpoint override: production code has no sandbox switch.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  process.env.ALERTS_QUEUE_URL = world.queues.alerts.url;
  process.env.ALERTS_TOPIC_ARN = ALERTS_TOPIC(
    world.orchestratorAccountId,
    world.orchestratorRegion,
  );
  process.env.SLACK_WEBHOOK_PARAMETER = webhookParameter ?? "/ami-orchestrator/none";
  // watch-rollouts' own (serverless.yml): where the stack's functions are, for the doctor.
  const stack = {
    accountId: world.orchestratorAccountId,
    region: world.orchestratorRegion,
    service: "ami-orchestrator",
    stage: SANDBOX_STAGE,
  };
  process.env.ORCHESTRATOR_FUNCTION_ARN_PREFIX = functionArn(stack, "");
  process.env.ORCHESTRATOR_STAGE = SANDBOX_STAGE;
  // Its poll rule's ARN, resolved from serverless.yml as CloudFormation would.
  Object.assign(
    process.env,
    functionEnvironment(config, { ...stack }, "watch-rollouts", SERVERLESS_YML, ["POLL_RULE_ARN"]),
  );
  // Each handler runs as its function (the role IAM checks its calls against), however a test or
  // scenario calls it; the Lambda service's own invocation context, when there is one, wins.
  const asFunction =
    <E, R>(functionName: string, handler: (event: E, context: Context) => Promise<R>) =>
    (event: E, context: Context): Promise<R> =>
      currentInvocation()?.functionName === functionName
        ? handler(event, context)
        : runInInvocation({ functionName, steps: 0, crashed: false }, () =>
            handler(event, context),
          );
  const handlers = {
    startPipelines: asFunction(
      "start-pipelines",
      (await import("../functions/start-pipelines.ts")).handler,
    ),
    onImageState: asFunction(
      "on-image-state",
      (await import("../functions/on-image-state.ts")).handler,
    ),
    rollOutTarget: asFunction(
      "roll-out-target",
      (await import("../functions/roll-out-target.ts")).handler,
    ),
    watchRollouts: asFunction(
      "watch-rollouts",
      (await import("../functions/watch-rollouts.ts")).handler,
    ),
    alerts: asFunction("alerts", (await import("../functions/alerts.ts")).handler),
    explainLaunchFailure: asFunction(
      "explain-launch-failure",
      (await import("../functions/explain-launch-failure.ts")).handler,
    ),
  };
  const lambda = new SandboxLambdaService(world, handlers, world.queues, options.observer);
  // EventBridge delivers to the functions through the rules the world was deployed with.
  lambda.functionArn = (name) => functionArn(stack, name);
  // After a crash (timeout, out of memory) "Lambda resets the execution environment" (Lambda
  // developer guide, execution environment lifecycle, failures during the invoke phase): the
  // next invocation gets a fresh module state, not the dead one's caches and pending promises.
  let containers = 0;
  lambda.newContainer = async (functionName) => {
    containers += 1;
    const module = (await import(`../functions/${functionName}.ts?container=${containers}`)) as {
      handler: (event: unknown, context: Context) => Promise<unknown>;
    };
    return asFunction(functionName, module.handler);
  };
  return {
    world,
    dynamo,
    slack,
    handlers,
    lambda,
    close: async () => {
      // Refusals and what IAM could not evaluate offline belong in the test output.
      if (world.authorizer.refusals.length > 0 || world.authorizer.notes.size > 0)
        console.warn(world.authorizer.report());
      installed.restore();
      await slack.close();
      await dynamo.close();
    },
  };
};
