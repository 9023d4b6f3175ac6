import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { KMSClient } from "@aws-sdk/client-kms";
import { STSClient } from "@aws-sdk/client-sts";
import middy from "@middy/core";
import { clientConfig, currentRegion, regionalClients } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { AssumedRoleCredentials } from "../lib/aws/credentials.ts";
import { type TargetAccount, targetAccountClients } from "../lib/aws/target-clients.ts";
import { loadConfig } from "../lib/config/runtime.ts";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { parseLaunchUnsuccessfulEvent } from "../lib/events/launch-unsuccessful.ts";
import { type DiagnoseClients, diagnoseLaunchFailure } from "../lib/launch-failures/diagnose.ts";
import { lazy } from "../lib/lazy.ts";
import {
  lambdaObservability,
  logFailures,
  type Observability,
} from "../lib/observability/index.ts";

/**
 * explain-launch-failure: turns Auto Scaling's `EC2 Instance Launch Unsuccessful` events,
 * forwarded from target accounts, into a diagnosis (lib/launch-failures). A function of its own,
 * not watch-rollouts: failed launches happen outside rollouts too, and its role needs KMS reads
 * watch-rollouts has no use for.
 */

export interface ExplainDeps {
  readonly config: OrchestratorConfig;
  /** Clients in a configured target account and region (assumed role). */
  readonly clients: (account: TargetAccount, region: string) => DiagnoseClients;
}

export const makeHandler = (deps: () => ExplainDeps, { logger, metrics }: Observability) =>
  middy<unknown, unknown>()
    .use(injectLambdaContext(logger))
    .use(logFailures(logger))
    .handler(async (raw) => {
      const event = parseLaunchUnsuccessfulEvent(raw);
      const { config, clients } = deps();
      const account = Object.values(config.accounts).find((a) => a.id === event.accountId);
      const where = {
        accountId: event.accountId,
        region: event.region,
        group: event.autoScalingGroupName,
        activityId: event.activityId,
      };
      if (!account) {
        // The bus policy admits only configured accounts; one removed since cannot be assumed.
        logger.warn("failed launch in an account not in the config: not diagnosed", {
          ...where,
          statusMessage: event.statusMessage,
        });
        return { diagnosed: false, ...where };
      }
      const diagnosis = await diagnoseLaunchFailure(event, clients(account, event.region));
      metrics.count("LaunchFailureDiagnosed", { cause: diagnosis.cause });
      logger.error(`instance launch failed: ${diagnosis.explanation}`, {
        ...where,
        diagnosis,
        alert: "launch-failed",
      });
      return { diagnosed: true, ...where, diagnosis };
    });

export const handler = makeHandler(
  lazy(() => {
    const region = currentRegion();
    const config = loadConfig();
    const inTarget = targetAccountClients(
      new AssumedRoleCredentials({
        sts: new STSClient(clientConfig({ region })),
        clock: systemClock,
      }),
      "explain-launch-failure",
    );
    const autoScaling = inTarget((o) => new AutoScalingClient(clientConfig(o)));
    const ec2 = inTarget((o) => new EC2Client(clientConfig(o)));
    const kms = inTarget((o) => new KMSClient(clientConfig(o)));
    const ownEc2 = regionalClients((o) => new EC2Client(clientConfig(o)));
    return {
      config,
      clients: (account, targetRegion) => ({
        autoScaling: autoScaling(account, targetRegion),
        ec2: ec2(account, targetRegion),
        kms: kms(account, targetRegion),
        // As roll-out-target: a shared AMI's snapshots are described by their owner, a
        // configured account through its role, else this (the build) account with its own role.
        owner: (ownerId) => {
          const owner = Object.values(config.accounts).find((a) => a.id === ownerId);
          return owner ? ec2(owner, targetRegion) : ownEc2(targetRegion);
        },
      }),
    };
  }),
  lambdaObservability(),
);
