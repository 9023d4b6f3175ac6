import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { parseConfig } from "../../lib/config/load.ts";
import { loadRollout, type RolloutState } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import type { AwsErrorShape } from "../../sandbox/model/errors.ts";
import type { FaultRule } from "../../sandbox/model/faults.ts";
import { type SandboxSession, startSandbox } from "../../sandbox/session.ts";
import { restoreEnvAfterEachTest, snapshotEnv } from "./env.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

const BUILD = "999999999999";
const PIPELINE = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/golden`;
/** A pipeline in a change freeze for the whole run: its ticks must start nothing. */
export const FROZEN_PIPELINE = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/frozen`;
const MINUTE = 60_000;
/** 25 accounts × 2 regions: the 50-target rollout. The first three are the small scenarios' fleet. */
export const ACCOUNTS = Array.from({ length: 25 }, (_, index) => ({
  alias: `team${String(index).padStart(2, "0")}`,
  id: String(100000000000 + index * 1111),
}));

/** How the golden pipeline selects and refreshes groups (default: by its tag, waiting). */
export interface SuiteOptions {
  /** Select the groups by these names instead of the pipeline tag. */
  readonly groupNames?: readonly string[];
  readonly whenInProgress?: "wait" | "cancel";
}

const config = (aliases: readonly string[], options: SuiteOptions) => `
notifications:
  slack: { webhookUrlParameter: /ami-orchestrator/slack-webhook }
accounts:
${ACCOUNTS.filter((account) => aliases.includes(account.alias))
  .map(
    (account) =>
      `  ${account.alias}: { id: "${account.id}", externalId: ext-${account.alias}, regions: [eu-west-1, eu-west-3] }`,
  )
  .join("\n")}
pipelines:
  - name: golden
    arn: ${PIPELINE}
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications
    rollout:
      waves: [{ name: all, accounts: [${aliases.join(", ")}] }]
      autoScalingGroups: ${options.groupNames ? `{ names: [${options.groupNames.join(", ")}] }` : '{ tags: { "ami-orchestrator:pipeline": golden } }'}
      grantPropagationSeconds: 120${options.whenInProgress ? `\n      instanceRefresh: { whenInProgress: ${options.whenInProgress} }` : ""}
  - name: frozen
    arn: ${FROZEN_PIPELINE}
    freeze: [{ from: "2026-11-01", to: "2027-12-31", reason: change freeze }]
`;

export const UNAVAILABLE: AwsErrorShape = { name: "ServiceUnavailable", httpStatusCode: 503 };

export interface Row {
  readonly fault: string;
  /** Injects the fault; returns what to undo afterwards. */
  readonly inject: (session: SandboxSession) => Array<FaultRule> | undefined;
  readonly expect: "succeeded" | "failed";
  /** Extra checks on the finished rollout. */
  readonly check?: (state: RolloutState, session: SandboxSession) => void | Promise<void>;
  /** Deliver the AVAILABLE notification this many times (duplicates). */
  readonly deliveries?: number;
  /** Deliver the notification this many times at once, racing (conditional writes decide). */
  readonly concurrentDeliveries?: number;
  /** Undo what `inject` changed beyond fault rules. */
  readonly restore?: (session: SandboxSession) => void;
  /**
   * Kill roll-out-target right after each of its steps in turn (AWS or DynamoDB call, counted
   * across its invocations), one fresh build per step, until a run makes fewer steps: a crash
   * at any point must still end with every group on the new AMI.
   */
  readonly crashAfterEveryStep?: boolean;
  /**
   * Bodies sent to the rollout queue beside the rollout's own messages (poison messages): each
   * must end in the rollout dead-letter queue, once, and nothing else may.
   */
  readonly poison?: readonly string[];
  /**
   * Well-formed rollout queue messages someone allowed to send to the queue forges for the new
   * image (built from its ARN). A message is a hint, read for its ids only: one naming a target
   * of the rollout is a duplicate delivery, one naming no recorded target is refused and consumed.
   * None may be dead-lettered or roll anything but the AMI GetImage reports (asserted).
   */
  readonly forgedQueueMessages?: (imageArn: string) => ReadonlyArray<Record<string, unknown>>;
  /**
   * Forged invocations of the scheduled functions (whoever holds lambda:InvokeFunction), made
   * five minutes into the rollout (refreshes running, so a genuine poll would act), as Lambda
   * delivers an asynchronous invocation. None may make an AWS call; each is refused (its last
   * error in the failed-events destination, matching `refused`) or returns what `returns` checks.
   */
  readonly forgedInvocations?: readonly ForgedInvocation[];
  /**
   * Forged notifications for the new image, delivered to on-image-state before Image Builder's
   * own: each rewrites the genuine SNS event (its message, its topic). What GetImage does not
   * confirm must be rejected into the failed-events destination; nothing a forgery names may roll
   * out (succeeded rows assert every group runs the AMI GetImage reports).
   */
  readonly forged?: ReadonlyArray<(event: SnsEventShape) => void>;
}

export interface ForgedInvocation {
  readonly functionName: "start-pipelines" | "watch-rollouts";
  readonly event: (session: SandboxSession) => unknown;
  readonly refused?: RegExp;
  readonly returns?: (result: unknown) => void;
}

/** The SNS event Lambda delivers, as far as a forger rewrites it. */
export interface SnsEventShape {
  Records: Array<{ Sns: { TopicArn: string; Message: string } }>;
}

interface Result {
  fault: string;
  outcome: string;
  targets: number;
  calls: number;
  duplicates: number;
  lost: number;
  /** Calls the sandbox checked against IAM (sandbox/iam/), and how many it refused. */
  iamChecked: number;
  iamRefused: number;
  /** Requests the sandbox checked against the AWS API models, and how many it refused. */
  modelChecked: number;
  modelRefused: number;
}

/**
 * The fault-injection suite: each row is a fault and its expected outcome, run end to end in the
 * sandbox over a fresh build. Every row also asserts the two invariants: nothing was done twice
 * (one grant per key and role, one template version per template and rollout, one refresh per
 * group and rollout) and nothing was lost (the rollout ends, no message is stranded).
 */
export const defineFaultSuite = (
  title: string,
  accountCount: number,
  rows: (accounts: typeof ACCOUNTS) => Row[],
  options: SuiteOptions = {},
): Promise<void> =>
  describe(title, () => {
    let session: SandboxSession;
    let configDir: string | undefined;
    const results: Result[] = [];
    const aliases = ACCOUNTS.slice(0, accountCount).map((account) => account.alias);

    let restoreEnv: (() => void) | undefined;
    restoreEnvAfterEachTest();

    before(async () => {
      restoreEnv = snapshotEnv();
      const dir = mkdtempSync(join(tmpdir(), "ami-orchestrator-faults-"));
      configDir = dir;
      writeFileSync(join(dir, "orchestrator.yml"), config(aliases, options));
      process.env.ORCHESTRATOR_CONFIG = join(dir, "orchestrator.yml");
      session = await startSandbox(parseConfig(config(aliases, options), "faults.yml"), {
        start: "2026-11-23T01:00:00Z",
      });
    });
    after(async () => {
      await session?.close();
      if (configDir) rmSync(configDir, { recursive: true, force: true });
      restoreEnv?.();
      const header = [
        "fault",
        "outcome",
        "targets",
        "AWS calls",
        "IAM checked",
        "IAM refused",
        "model checked",
        "model refused",
        "duplicates",
        "lost",
      ];
      const rows = results.map((r) => [
        r.fault,
        r.outcome,
        String(r.targets),
        String(r.calls),
        String(r.iamChecked),
        String(r.iamRefused),
        String(r.modelChecked),
        String(r.modelRefused),
        String(r.duplicates),
        String(r.lost),
      ]);
      const widths = header.map((h, i) =>
        Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
      );
      const line = (cells: string[]) =>
        cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ");
      // The summary table CI logs show: faults tried, outcomes, duplicates 0, lost 0.
      process.stdout.write(
        `${["", "fault-injection summary", line(header), ...rows.map(line)].join("\n")}\n`,
      );
    });

    /** Builds a new image, delivers its notification, runs everything to the end. */
    const runScenario = async (
      row: Row,
      crashAfterStep?: number,
    ): Promise<RolloutState & { crashed: boolean }> => {
      const { world, lambda, handlers, dynamo } = session;
      const callsBefore = world.calls.length;
      const iamBefore = { ...world.authorizer.stats };
      const modelBefore = { ...world.modelStats };
      const start = new Date(world.clock.now() + MINUTE).toISOString();
      world.clock.advanceTo(start);
      await handlers.startPipelines(
        { pipeline: "golden", scheduledTime: start },
        fakeContext("start-pipelines"),
      );
      const image = world.imageBuilder.imagesOf(PIPELINE).at(-1);
      assert.ok(image);
      world.clock.advance(40 * MINUTE);
      assert.equal(image.status, "AVAILABLE");
      const rules = row.inject(session) ?? [];
      for (let extra = 1; extra < (row.deliveries ?? 1); extra += 1) {
        await lambda.invokeAsync("on-image-state", handlers.onImageState, lambda.snsEvent(image));
      }
      if (row.concurrentDeliveries) {
        await Promise.all(
          Array.from({ length: row.concurrentDeliveries }, () =>
            lambda.invokeAsync("on-image-state", handlers.onImageState, lambda.snsEvent(image)),
          ),
        );
      }
      for (const forge of row.forged ?? []) {
        const event = lambda.snsEvent(image) as SnsEventShape;
        forge(event);
        await lambda.invokeAsync("on-image-state", handlers.onImageState, event);
      }
      const sqs = new SQSClient({ region: "eu-west-1" });
      for (const body of row.poison ?? []) {
        await sqs.send(
          new SendMessageCommand({ QueueUrl: world.queues.rollout.url, MessageBody: body }),
        );
      }
      for (const message of row.forgedQueueMessages?.(image.arn) ?? []) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: world.queues.rollout.url,
            MessageBody: JSON.stringify(message),
          }),
        );
      }
      // Forged while the rollout runs (its refreshes in progress), when a genuine poll would act.
      if (row.forgedInvocations) await lambda.run(world.clock.now() + 5 * MINUTE);
      for (const forged of row.forgedInvocations ?? []) {
        const handler =
          forged.functionName === "start-pipelines"
            ? handlers.startPipelines
            : handlers.watchRollouts;
        const callsBeforeForgery = world.calls.length;
        const failedBefore = lambda.failedEvents.length;
        const invocation = await lambda.invokeAsync(
          forged.functionName,
          handler as Parameters<typeof lambda.invokeAsync>[1],
          forged.event(session),
        );
        assert.deepEqual(
          world.calls.slice(callsBeforeForgery).map((call) => `${call.service}:${call.operation}`),
          [],
          `the forged ${forged.functionName} invocation made no AWS call`,
        );
        if (forged.refused) {
          const failed = lambda.failedEvents.splice(failedBefore);
          assert.equal(failed.length, 1, `the forged ${forged.functionName} invocation failed`);
          assert.match(failed[0]?.error.message ?? "", forged.refused);
        } else {
          assert.equal(invocation.error, undefined);
          forged.returns?.(invocation.result);
        }
      }
      if (crashAfterStep !== undefined) lambda.crashAfterStep("roll-out-target", crashAfterStep);
      await lambda.run(world.clock.now() + 4 * 60 * MINUTE);
      const crashed = crashAfterStep !== undefined && !lambda.crashPending;
      lambda.cancelCrash();
      for (const rule of rules) world.faults.remove(rule);
      row.restore?.(session);
      const rolloutId = image.arn;
      const state = await loadRollout(dynamo.db, dynamo.table, rolloutId);
      assert.ok(state, `rollout ${rolloutId} recorded`);

      // Nothing done twice.
      const versions = new Map<string, number>();
      for (const template of world.ec2.templates.values()) {
        const created = template.versions.filter((version) =>
          version.description?.includes(`rollout ${rolloutId}`),
        );
        versions.set(template.id, created.length);
      }
      const refreshes = new Map<string, number>();
      for (const group of state.groups) {
        const own = world.autoScaling.refreshes.filter(
          (refresh) =>
            refresh.group.name === group.group &&
            refresh.group.accountId === group.accountId &&
            refresh.group.region === group.region &&
            (
              refresh.desiredConfiguration.LaunchTemplate ??
              refresh.desiredConfiguration.MixedInstancesPolicy?.LaunchTemplate
                .LaunchTemplateSpecification
            )?.Version === String(group.newVersion) &&
            refresh.startTime >= Date.parse(start) &&
            // A refresh that failed and was retried once (slow grant) is not a duplicate.
            !["Failed", "RollbackSuccessful", "RollbackFailed", "Cancelled"].includes(
              refresh.status,
            ),
        );
        refreshes.set(`${group.accountId}/${group.region}/${group.group}`, own.length);
      }
      const grants = new Map<string, number>();
      for (const grant of world.kms.grants) {
        const key = `${grant.keyArn}|${grant.granteePrincipal}`;
        grants.set(key, (grants.get(key) ?? 0) + 1);
      }
      const duplicates = [...versions.values(), ...refreshes.values(), ...grants.values()].filter(
        (count) => count > 1,
      ).length;
      // Poison messages end in the DLQ (its alarm alerts), each once; drained for the next row.
      const deadLettered = world.queues.deadLetter.messages.map((message) => message.body);
      if (row.poison?.length) {
        assert.deepEqual(deadLettered.sort(), [...row.poison].sort(), "poison dead-lettered");
        world.queues.deadLetter.messages.length = 0;
      }
      // Nothing lost: the rollout ended, and no message is left behind or dead-lettered.
      const lost =
        (state.record.status === "in-progress" ? 1 : 0) +
        world.queues.rollout.messages.length +
        world.queues.deadLetter.messages.length +
        world.queues.alerts.messages.length;
      results.push({
        fault: row.fault,
        outcome: state.record.status,
        targets: state.targets.length,
        calls: world.calls.length - callsBefore,
        iamChecked: world.authorizer.stats.checked - iamBefore.checked,
        iamRefused: world.authorizer.stats.refused - iamBefore.refused,
        modelChecked: world.modelStats.checked - modelBefore.checked,
        modelRefused: world.modelStats.refused - modelBefore.refused,
        duplicates,
        lost,
      });
      assert.equal(duplicates, 0, "no mutating call took effect twice");
      assert.equal(lost, 0, "nothing lost");
      assert.equal(state.record.status, row.expect, state.record.reason);
      // No launch template version names an AMI the image does not have, nor another pipeline's
      // (forged queue messages and notifications name their own).
      const amis = new Set(image.amis.map((ami) => ami.image));
      for (const template of world.ec2.templates.values()) {
        for (const version of template.versions) {
          if (!version.description?.includes(`rollout ${rolloutId}`)) continue;
          const imageId = String(version.data.ImageId);
          assert.ok(
            amis.has(imageId),
            `${template.id} v${version.versionNumber} launches ${imageId}`,
          );
        }
      }
      if (row.expect === "succeeded") {
        // Each target's AMI is one Image Builder distributed (never one a notification named).
        for (const target of state.targets) {
          assert.ok(
            image.amis.some((ami) => ami.image === target.amiId),
            `${target.accountId}/${target.region} got ${target.amiId}, an AMI of the image`,
          );
        }
        // Every group the rollout selects runs the new AMI: "succeeded" is not just a record. A
        // group it reported unsupported (it says why) is left as it was.
        const selected = (group: { name: string; tags: Record<string, string> }) =>
          options.groupNames
            ? options.groupNames.includes(group.name)
            : group.tags["ami-orchestrator:pipeline"] === "golden";
        for (const target of state.targets) {
          for (const group of world.autoScaling.groups.values()) {
            if (
              group.accountId !== target.accountId ||
              group.region !== target.region ||
              !selected(group) ||
              group.launchConfigurationName ||
              target.unsupportedGroups?.some((unsupported) => unsupported.name === group.name)
            )
              continue;
            assert.equal(
              group.runningImageId,
              target.amiId,
              `${target.accountId}/${target.region}/${group.name} runs the new AMI`,
            );
          }
        }
      }
      await row.check?.(state, session);
      return { ...state, crashed };
    };

    for (const row of rows(ACCOUNTS)) {
      it(row.fault, async () => {
        if (!row.crashAfterEveryStep) {
          await runScenario(row);
          return;
        }
        const first = results.length;
        let step = 1;
        for (; ; step += 1) {
          const { crashed } = await runScenario(row, step);
          if (!crashed) break;
        }
        // One summary line for the sweep: the crash points tried and their totals.
        const sweep = results.splice(first);
        results.push({
          fault: `${row.fault} (each of ${step - 1} steps)`,
          outcome: [...new Set(sweep.map((r) => r.outcome))].join("/"),
          targets: sweep[0]?.targets ?? 0,
          calls: sweep.reduce((sum, r) => sum + r.calls, 0),
          iamChecked: sweep.reduce((sum, r) => sum + r.iamChecked, 0),
          iamRefused: sweep.reduce((sum, r) => sum + r.iamRefused, 0),
          modelChecked: sweep.reduce((sum, r) => sum + r.modelChecked, 0),
          modelRefused: sweep.reduce((sum, r) => sum + r.modelRefused, 0),
          duplicates: sweep.reduce((sum, r) => sum + r.duplicates, 0),
          lost: sweep.reduce((sum, r) => sum + r.lost, 0),
        });
        assert.ok(step > 10, `roll-out-target made ${step - 1} steps: the sweep covered them all`);
      });
    }
  });
