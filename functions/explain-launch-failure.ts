import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import middy from "@middy/core";
import { alertPublisher } from "../lib/alerts/publish.ts";
import { clientConfig, currentRegion } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { readEnv } from "../lib/aws/env.ts";
import { assumedRoleClients } from "../lib/aws/target-clients.ts";
import { loadConfig } from "../lib/config/runtime.ts";
import { parseLaunchUnsuccessfulEvent } from "../lib/events/launch-unsuccessful.ts";
import { type ExplainDeps, explainLaunchFailure } from "../lib/launch-failures/explain.ts";
import { lazy } from "../lib/lazy.ts";
import {
  lambdaObservability,
  logFailures,
  type Observability,
  rejectDeepEvents,
} from "../lib/observability/index.ts";

/**
 * explain-launch-failure: turns Auto Scaling's `EC2 Instance Launch Unsuccessful` events,
 * forwarded from target accounts, into a diagnosis, heals a missing grant for groups the config
 * rolls out to, and alerts once per episode (lib/launch-failures). A function of its own, not
 * watch-rollouts: failed launches happen outside rollouts too, and its role needs KMS reads and
 * grants watch-rollouts has no use for.
 */
export const makeHandler = (deps: () => ExplainDeps, { logger, metrics }: Observability) =>
  middy<unknown, unknown>()
    .use(injectLambdaContext(logger))
    .use(logFailures(logger))
    .use(rejectDeepEvents(metrics, "LaunchEventRejected"))
    .handler(async (raw) => {
      const event = parseLaunchUnsuccessfulEvent(raw);
      const where = {
        accountId: event.accountId,
        region: event.region,
        group: event.autoScalingGroupName,
        activityId: event.activityId,
      };
      const result = await explainLaunchFailure(event, deps());
      if (result.outcome === "unconfigured-account") {
        // The bus policy admits only configured accounts; one removed since cannot be assumed.
        logger.warn("failed launch in an account not in the config: not diagnosed", {
          ...where,
          statusMessage: event.statusMessage,
        });
        return { ...where, ...result };
      }
      metrics.count("LaunchFailureDiagnosed", { cause: result.diagnosis.cause });
      if (result.healed.length > 0) metrics.count("GrantHealed");
      const fields = { ...where, ...result, alert: "launch-failed" };
      if (result.outcome === "duplicate")
        logger.info("failed launch counted in its open episode (already alerted)", fields);
      else logger.error(`instance launch failed: ${result.diagnosis.explanation}`, fields);
      return { ...where, ...result };
    });

export const handler = makeHandler(
  lazy(() => {
    const env = readEnv(["TABLE_NAME"]);
    const region = currentRegion();
    const config = loadConfig();
    const targets = assumedRoleClients(
      new STSClient(clientConfig({ region })),
      config,
      "explain-launch-failure",
    );
    return {
      config,
      db: createDocumentClient(region),
      table: env.TABLE_NAME,
      now: () => new Date(systemClock.now()),
      publishAlert: alertPublisher(
        new SQSClient(clientConfig({ region })),
        process.env.ALERTS_QUEUE_URL,
      ),
      clients: (account, targetRegion) => ({
        autoScaling: targets.autoScaling(account, targetRegion),
        ec2: targets.ec2(account, targetRegion),
        kms: targets.kms(account, targetRegion),
        // As roll-out-target: a shared AMI's snapshots are described by their owner, a
        // configured account through its role, else this (the build) account with its own role.
        owner: (ownerId) => targets.ownerEc2(ownerId, targetRegion),
      }),
    };
  }),
  lambdaObservability(),
);
