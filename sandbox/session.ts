import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { type LocalDynamo, startDynamo } from "./dynamodb.ts";
import { installSandbox } from "./install.ts";
import { type Invocation, SandboxLambdaService } from "./lambda-service.ts";
import { type WorldFromConfigOptions, worldFromConfig } from "./world-from-config.ts";

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
  const installed = installSandbox(world);
  process.env.TABLE_NAME = dynamo.table;
  process.env.ROLLOUT_QUEUE_URL = world.queues.rollout.url;
  // The SDK's standard endpoint override: production code has no sandbox switch.
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
  const handlers = {
    startPipelines: (await import("../functions/start-pipelines.ts")).handler,
    onImageState: (await import("../functions/on-image-state.ts")).handler,
    rollOutTarget: (await import("../functions/roll-out-target.ts")).handler,
    watchRollouts: (await import("../functions/watch-rollouts.ts")).handler,
  };
  const lambda = new SandboxLambdaService(world, handlers, world.queues.rollout, options.observer);
  return {
    world,
    dynamo,
    handlers,
    lambda,
    close: async () => {
      installed.restore();
      await dynamo.close();
    },
  };
};
