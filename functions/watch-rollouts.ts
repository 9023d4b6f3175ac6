import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { STSClient } from "@aws-sdk/client-sts";
import middy from "@middy/core";
import { alertPublisher } from "../lib/alerts/publish.ts";
import { clientConfig, currentRegion, regionalClients } from "../lib/aws/clients.ts";
import { systemClock } from "../lib/aws/clock.ts";
import { AssumedRoleCredentials } from "../lib/aws/credentials.ts";
import { createDocumentClient } from "../lib/aws/dynamodb.ts";
import { readEnv } from "../lib/aws/env.ts";
import { assumedRoleClients, targetAccountClients } from "../lib/aws/target-clients.ts";
import { loadConfig } from "../lib/config/runtime.ts";
import { type DoctorDeps, runDoctor } from "../lib/doctor/checks.ts";
import { orchestratorDeployment } from "../lib/doctor/deployment.ts";
import { checkEventRules, forwardingChecker } from "../lib/doctor/event-rules.ts";
import { checkOrchestratorDeployment } from "../lib/doctor/orchestrator.ts";
import { InvalidEventError } from "../lib/errors.ts";
import { parseWatchRequest, type WatchRequest } from "../lib/events/watch-request.ts";
import { lazy } from "../lib/lazy.ts";
import {
  lambdaObservability,
  logFailures,
  type Observability,
  rejectDeepEvents,
} from "../lib/observability/index.ts";
import { type AdvanceOutcome, approveWaveAndAdvance } from "../lib/rollout/advance.ts";
import { pollRollouts } from "../lib/rollout/poll.ts";
import { type RollbackDeps, rollbackPipeline } from "../lib/rollout/rollback.ts";
import { applyRefreshEvent } from "../lib/rollout/watch.ts";

/**
 * watch-rollouts: follows every instance refresh to its end and moves rollouts wave by wave.
 * Triggered by the instance-refresh events target accounts forward to this account's bus, by a
 * 5-minute schedule (the backstop for lost events), and by operator actions:
 *   {"action": "approve", "pipeline": "web-ubuntu2404", "wave": "rest"}
 *   {"action": "rollback", "pipeline": "base-al2023"}
 *   {"action": "doctor", "pipeline": "base-al2023"}   (read-only pre-flight: npm run doctor)
 */

/** Logs what an advance did; a failure is alerted by the one invocation that ended the rollout. */
const reportAdvance = (advance: AdvanceOutcome, { logger, metrics }: Observability): void => {
  const { decision } = advance;
  const fields = { rolloutId: advance.rolloutId, pipeline: advance.pipeline, ...decision };
  const dimensions = advance.pipeline ? { pipeline: advance.pipeline } : undefined;
  switch (decision.action) {
    case "dispatch":
      metrics.count("WaveDispatched", dimensions);
      logger.info("wave dispatched", { ...fields, targets: advance.dispatchedTargets });
      return;
    case "succeed":
      if (advance.ended) {
        metrics.count("RolloutSucceeded", dimensions);
        logger.info("rollout succeeded", fields);
      }
      return;
    case "fail":
      if (advance.ended) {
        metrics.count("RolloutFailed", dimensions);
        // Structured for the alerts module: account, region, group, refresh id, reason.
        logger.error("rollout failed: later waves will not start", {
          ...fields,
          alert: "rollout-failed",
        });
      }
      return;
    default:
      logger.debug("rollout unchanged", fields);
  }
};

export interface WatchHandlerOptions {
  /** This stack's poll rule: the only "Scheduled Event" taken as a poll. */
  readonly pollRuleArn: () => string;
  readonly doctorDeps?: () => DoctorDeps;
}

export const makeHandler = (
  deps: () => RollbackDeps,
  observability: Observability,
  {
    pollRuleArn,
    doctorDeps = () => {
      throw new Error("the doctor is not configured in this handler");
    },
  }: WatchHandlerOptions,
) =>
  middy<unknown, unknown>()
    .use(injectLambdaContext(observability.logger))
    .use(logFailures(observability.logger))
    .use(rejectDeepEvents(observability.metrics, "WatchRequestRejected"))
    .handler(async (event, context) => {
      let request: WatchRequest;
      try {
        request = parseWatchRequest(event, { pollRuleArn });
      } catch (error) {
        // Logged by logFailures; counted here so a stream of forged events shows on a graph.
        if (error instanceof InvalidEventError) observability.metrics.count("WatchRequestRejected");
        throw error;
      }
      const { logger } = observability;
      switch (request.kind) {
        case "refresh-event": {
          const outcome = await applyRefreshEvent(request.event, deps());
          logger.info(`instance refresh ${request.event.outcome}`, {
            ...request.event,
            outcome: outcome.outcome,
          });
          if (outcome.outcome !== "not-ours") reportAdvance(outcome.advance, observability);
          return outcome;
        }
        case "poll": {
          // A fifth of the invocation kept for what follows the reads (records, advance, logs):
          // refreshes not read by then are read first by the next poll.
          const budget = context.getRemainingTimeInMillis() * 0.8;
          const started = Date.now();
          const outcomes = await pollRollouts(deps(), {
            timeLeftMs: () => budget - (Date.now() - started),
          });
          for (const outcome of outcomes) {
            if (outcome.errors.length > 0)
              logger.warn("some refreshes could not be read", {
                rolloutId: outcome.rolloutId,
                errors: outcome.errors,
              });
            if (outcome.updated.length > 0)
              logger.info("refreshes updated by the poll", {
                rolloutId: outcome.rolloutId,
                updated: outcome.updated,
              });
            reportAdvance(outcome.advance, observability);
          }
          return { polled: outcomes.length, outcomes };
        }
        case "approve": {
          const outcome = await approveWaveAndAdvance(request, deps());
          logger.info("wave approved", {
            wave: request.wave,
            approvedBy: request.approvedBy,
            rolloutId: outcome.rolloutId,
          });
          reportAdvance(outcome, observability);
          return outcome;
        }
        case "rollback": {
          const outcome = await rollbackPipeline(request.pipeline, deps(), request.requestedBy);
          const failed = outcome.groups.filter((group) => group.status === "failed");
          await deps().publishAlert?.({
            kind: "rollout-rolled-back",
            rolloutId: outcome.rolloutId,
            pipeline: outcome.pipeline,
            requestedBy: request.requestedBy,
            groups: outcome.groups.filter((group) => group.status === "rollback-started").length,
            failedGroups: failed.map(
              (group) => `${group.accountId}/${group.region}/${group.group}: ${group.reason}`,
            ),
          });
          if (failed.length > 0)
            logger.error("rollback incomplete", { ...outcome, alert: "rollback-failed" });
          else logger.warn("rollout rolled back", { ...outcome, alert: "rollout-rolled-back" });
          return outcome;
        }
        case "doctor": {
          // Read-only: this role is one the target roles trust (the operator's is not).
          const report = await runDoctor(
            doctorDeps(),
            request.pipeline ? { pipeline: request.pipeline } : {},
          );
          logger.info("doctor run", { passed: report.passed, failed: report.failed });
          return report;
        }
      }
    });

export const handler = makeHandler(
  lazy(() => {
    const env = readEnv(["TABLE_NAME", "ROLLOUT_QUEUE_URL"]);
    const region = currentRegion();
    const sqs = new SQSClient(clientConfig({ region }));
    const config = loadConfig();
    const targets = assumedRoleClients(
      new STSClient(clientConfig({ region })),
      config,
      "watch-rollouts",
    );
    return {
      publishAlert: alertPublisher(sqs, process.env.ALERTS_QUEUE_URL),
      config,
      db: createDocumentClient(region),
      table: env.TABLE_NAME,
      sqs,
      queueUrl: env.ROLLOUT_QUEUE_URL,
      clock: systemClock,
      autoScaling: targets.autoScaling,
      ec2: targets.ec2,
    };
  }),
  lambdaObservability(),
  {
    pollRuleArn: lazy(() => readEnv(["POLL_RULE_ARN"]).POLL_RULE_ARN),
    // Built afresh for each doctor run: cached credentials would hide a role broken since.
    doctorDeps: (): DoctorDeps => {
      const region = currentRegion();
      const config = loadConfig();
      const env = readEnv([
        "ORCHESTRATOR_FUNCTION_ARN_PREFIX",
        "ORCHESTRATOR_STAGE",
        "ALERTS_TOPIC_ARN",
      ]);
      const deployment = orchestratorDeployment(
        env.ORCHESTRATOR_FUNCTION_ARN_PREFIX,
        env.ORCHESTRATOR_STAGE,
      );
      const sts = new STSClient(clientConfig({ region }));
      const credentials = new AssumedRoleCredentials({ sts, clock: systemClock });
      const events = new EventBridgeClient(clientConfig({ region }));
      return {
        config,
        clients: assumedRoleClients(sts, config, "watch-rollouts", credentials),
        imageBuilder: regionalClients((o) => new ImagebuilderClient(clientConfig(o))),
        checkForwarding: forwardingChecker(
          targetAccountClients(
            credentials,
            "watch-rollouts",
          )((o) => new EventBridgeClient(clientConfig(o))),
          deployment,
        ),
        checkOrchestrator: async () =>
          (
            await Promise.all([
              checkOrchestratorDeployment({
                config,
                deployment,
                alertsTopicArn: env.ALERTS_TOPIC_ARN,
                scheduler: new SchedulerClient(clientConfig({ region })),
                sns: regionalClients((o) => new SNSClient(clientConfig(o))),
                ssm: new SSMClient(clientConfig({ region })),
              }),
              checkEventRules(events, deployment),
            ])
          ).flat(),
      };
    },
  },
);
