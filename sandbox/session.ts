import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { type LocalDynamo, startDynamo } from "./dynamodb.ts";
import { installSandbox } from "./install.ts";
import { type Invocation, SandboxLambdaService } from "./lambda-service.ts";
import { SlackReceiver } from "./slack-receiver.ts";
import { ALERTS_TOPIC, type WorldFromConfigOptions, worldFromConfig } from "./world-from-config.ts";

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
  },
) => {
  const world = worldFromConfig(config, options);
  const dynamo: LocalDynamo = await startDynamo();
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
  const handlers = {
    startPipelines: (await import("../functions/start-pipelines.ts")).handler,
    onImageState: (await import("../functions/on-image-state.ts")).handler,
    rollOutTarget: (await import("../functions/roll-out-target.ts")).handler,
    watchRollouts: (await import("../functions/watch-rollouts.ts")).handler,
    alerts: (await import("../functions/alerts.ts")).handler,
  };
  const lambda = new SandboxLambdaService(world, handlers, world.queues, options.observer);
  return {
    world,
    dynamo,
    slack,
    handlers,
    lambda,
    close: async () => {
      installed.restore();
      await slack.close();
      await dynamo.close();
    },
  };
};
