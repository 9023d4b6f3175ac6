import { randomUUID } from "node:crypto";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Clock } from "../aws/clock.ts";
import type { TargetClients } from "../aws/target-clients.ts";
import { findPipeline } from "../config/find.ts";
import type { AccountConfig, OrchestratorConfig, RolloutConfig } from "../config/schema.ts";
import { errorMessage, isRetryable, OrchestratorError } from "../errors.ts";
import type { TargetMessage } from "../events/rollout-message.ts";
import { dynamoSnapshotKeyCache } from "../kms/snapshot-key-cache.ts";
import type { Requeue, TargetStep, TargetWork } from "./roll-out-target/context.ts";
import { discoverTargetGroups, withServiceLinkedRoles } from "./roll-out-target/discover.ts";
import { ensureTargetGrants, waitForGrants } from "./roll-out-target/grants.ts";
import { groupOutcomes, judgeTarget } from "./roll-out-target/outcome.ts";
import { planOverrides } from "./roll-out-target/overrides.ts";
import { pinLatestGroups } from "./roll-out-target/pin-latest.ts";
import type { GroupOutcome } from "./roll-out-target/refresh-group.ts";
import { refreshTargetGroups } from "./roll-out-target/refreshes.ts";
import { createTemplateVersions, resolveTemplates } from "./roll-out-target/templates.ts";
import {
  createRolloutStore,
  FINISHED_TARGET_STATUSES,
  type GrantRecord,
  type GroupRecord,
  type RolloutStore,
  type TargetRecord,
  type TargetStatus,
  type TargetUpdate,
} from "./store/index.ts";
import { releaseTargetLease, takeTargetLease } from "./target-lease.ts";
import { recordTargetOutcome } from "./wave-progress.ts";

/** SDK clients in a target account (assumed role), and in an AMI owner's account. */
export type { TargetClients } from "../aws/target-clients.ts";
export {
  ACTIVE_REFRESH_RETRY_SECONDS,
  type TargetWork,
} from "./roll-out-target/context.ts";
export { type GroupOutcome, MAX_REFRESH_WAITS } from "./roll-out-target/refresh-group.ts";

export interface RollOutTargetDeps {
  readonly config: OrchestratorConfig;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly clients: TargetClients;
  /**
   * Puts `message` back on the queue, as given (a wait for another refresh counts an attempt;
   * one for a lease or a grant does not), to resume after `delaySeconds`; returns the delay used.
   */
  readonly requeue: (message: TargetMessage, delaySeconds: number) => Promise<number>;
  readonly clock: Clock;
  /** Groups of one target rolled concurrently. */
  readonly groupConcurrency?: number;
}

export type TargetOutcome = (
  | { readonly status: "already-finished"; readonly targetStatus: TargetStatus }
  | { readonly status: "requeued"; readonly reason: string; readonly delaySeconds: number }
  | {
      readonly status: TargetStatus;
      readonly groups: readonly GroupOutcome[];
      readonly grants: readonly GrantRecord[];
      readonly unsupportedGroups: ReadonlyArray<{ name: string; reason: string }>;
      readonly missingGroups: readonly string[];
      readonly notes: readonly string[];
      readonly reason?: string;
    }
) & {
  /** From our records (absent when the target had already finished): for logs and metrics. */
  readonly pipeline?: string;
  readonly account?: string;
  readonly wave?: string;
};

/** The target cannot be rolled by retrying (bad config, AccessDenied): recorded, then alerted. */
export class TargetFailedError extends OrchestratorError {
  /** The pipeline, when our records name it (for the metric). */
  pipeline?: string;
}

/** Some step failed in a way a later delivery can fix: the SQS message must be retried. */
export class RetryTargetError extends OrchestratorError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause, retryable: true });
  }
}

type SaveTarget = (fields: TargetUpdate) => Promise<void>;
type SaveGroup = (group: GroupRecord) => Promise<void>;

/**
 * Rolls one rollout out to one target (account + region): KMS grants for each group's
 * service-linked role, one new launch-template version per template, an instance refresh per
 * group pinned to it. Every step's result is recorded on the target and group records before the
 * next, so a redelivered message resumes where the last one stopped and repeats no mutating call.
 *
 * Errors a retry can fix are thrown (the message goes back to the queue, then to the DLQ);
 * errors it cannot (AccessDenied, a refused grant, bad template) are recorded on the target or the
 * group and returned: one group's failure does not stop the others.
 */
export const rollOutTarget = async (
  message: TargetMessage,
  deps: RollOutTargetDeps,
): Promise<TargetOutcome> => {
  const nowIso = () => new Date(deps.clock.now()).toISOString();
  const store = createRolloutStore(deps.db, deps.table);
  // This target's records: each step is saved before the next one runs.
  const saveTarget: SaveTarget = (fields) =>
    store.targets.update(message.rolloutId, message, fields, nowIso());
  const saveGroup: SaveGroup = (group) => store.groups.put(message.rolloutId, group);
  const record = await store.targets.get(message.rolloutId, message);
  if (!record) {
    throw new TargetFailedError(
      `no record of target ${message.accountId}/${message.region} in rollout ${message.rolloutId}: the message was not written by on-image-state`,
    );
  }
  if (FINISHED_TARGET_STATUSES.has(record.status)) {
    return { status: "already-finished", targetStatus: record.status };
  }
  // The message is a hint from whoever may send to the queue: the AMI, the pipeline and the
  // account come from the records on-image-state wrote after GetImage confirmed the image.
  const parent = await store.rollouts.get(message.rolloutId);
  if (!parent) {
    throw new TargetFailedError(
      `no record of rollout ${message.rolloutId}: the message was not written by on-image-state`,
    );
  }
  const work: TargetWork = {
    rolloutId: message.rolloutId,
    pipeline: parent.pipeline,
    imageArn: parent.imageArn,
    account: record.account,
    accountId: record.accountId,
    region: record.region,
    wave: record.wave,
    amiId: record.amiId,
  };
  // A delayed message (grants, another refresh) must not roll out an image that was superseded,
  // failed elsewhere or rolled back in the meantime.
  const named = { pipeline: work.pipeline, account: work.account, wave: work.wave };
  const recordOutcome = () =>
    recordTargetOutcome(deps.db, deps.table, work.rolloutId, work, nowIso());
  if (parent.status !== "in-progress") {
    const reason = `rollout ${parent.status}${parent.supersededBy ? ` by ${parent.supersededBy}` : ""}: target not rolled out`;
    await saveTarget({ status: "cancelled", reason });
    return {
      status: "cancelled",
      groups: [],
      grants: [],
      unsupportedGroups: [],
      missingGroups: [],
      notes: [reason],
      reason,
      ...named,
    };
  }
  const pipeline = findPipeline(deps.config, work.pipeline);
  const account = deps.config.accounts[work.account];
  if (!pipeline?.rollout || !account || account.id !== work.accountId) {
    const reason = `pipeline "${work.pipeline}" with a rollout, and account "${work.account}" (${work.accountId}), must be in the config`;
    await saveTarget({ status: "failed", reason });
    await recordOutcome();
    throw Object.assign(new TargetFailedError(reason), { pipeline: work.pipeline });
  }
  const rollout = pipeline.rollout;
  // Another invocation works in this account and region now (a duplicate delivery, or another
  // pipeline's rollout): our turn comes after it.
  const holder = `${work.rolloutId}#${randomUUID()}`;
  if (!(await takeTargetLease(deps.db, deps.table, work, holder, deps.clock.now()))) {
    const delaySeconds = await deps.requeue(message, LEASE_RETRY_SECONDS);
    return {
      status: "requeued",
      reason: "another invocation is working in this account and region",
      delaySeconds,
      ...named,
    };
  }
  if (record.status === "pending") {
    await saveTarget({ status: "in-progress", startedAt: nowIso() });
  }
  try {
    const outcome = await runSteps(work, message, record, account, rollout, deps, {
      store,
      nowIso,
      saveTarget,
      saveGroup,
    });
    // A target that ended here (nothing to refresh, or failed) will get no refresh event.
    if (outcome.status !== "requeued") await recordOutcome();
    return { ...outcome, ...named };
  } catch (error) {
    if (isRetryable(error)) {
      throw error instanceof RetryTargetError
        ? error
        : new RetryTargetError(
            `target ${message.accountId}/${message.region}: ${errorMessage(error)}`,
            error,
          );
    }
    const reason = errorMessage(error);
    await saveTarget({ status: "failed", reason });
    await recordOutcome();
    throw Object.assign(
      new TargetFailedError(
        `target ${work.account} (${work.accountId}) ${work.region}: ${reason}`,
        { cause: error },
      ),
      { pipeline: work.pipeline },
    );
  } finally {
    await releaseTargetLease(deps.db, deps.table, work, holder);
  }
};

/** How long a target waits for another rollout to leave its account and region. */
const LEASE_RETRY_SECONDS = 60;

/**
 * The steps, in order, each recorded before the next (lib/rollout/roll-out-target/ has one file
 * per step): the groups and their service-linked roles, the KMS grants and their propagation,
 * the template versions the groups run, their override AMIs, the pins of groups that follow
 * `$Latest`, the new versions, a refresh per group, and what becomes of the target.
 */
const runSteps = async (
  work: TargetWork,
  message: TargetMessage,
  record: TargetRecord,
  account: AccountConfig,
  rollout: RolloutConfig,
  deps: RollOutTargetDeps,
  {
    store,
    nowIso,
    saveTarget,
    saveGroup,
  }: { store: RolloutStore; nowIso: () => string; saveTarget: SaveTarget; saveGroup: SaveGroup },
): Promise<TargetOutcome> => {
  const { region } = work;
  const step: TargetStep = {
    work,
    attempt: message.attempt,
    account,
    rollout,
    clients: {
      autoScaling: () => deps.clients.autoScaling(account, region),
      ec2: () => deps.clients.ec2(account, region),
      kms: (keyRegion) => deps.clients.kms(account, keyRegion),
      iam: () => deps.clients.iam(account),
      ownerEc2: (ownerId) => deps.clients.ownerEc2(ownerId, region),
    },
    store,
    snapshotKeyCache: dynamoSnapshotKeyCache(deps.db, deps.table, () => deps.clock.now()),
    now: () => deps.clock.now(),
    nowIso,
    saveTarget,
    saveGroup,
    groupConcurrency: deps.groupConcurrency ?? 4,
    notes: [],
  };
  // Saved first: a crash in between leaves this message to be redelivered, never two chains.
  const requeue = async (wait: Requeue): Promise<TargetOutcome> => {
    await saveTarget({ status: wait.targetStatus });
    const delaySeconds = await deps.requeue(
      wait.countsAsAttempt ? { ...message, attempt: message.attempt + 1 } : message,
      wait.delaySeconds,
    );
    return { status: "requeued", reason: wait.reason, delaySeconds };
  };

  // 1-2. The groups, as they are now, with the service-linked role each launches with.
  const discovery = await discoverTargetGroups(step);
  if (discovery.groups.length === 0) {
    await saveTarget({ status: "up-to-date", ...discovery.found });
    return {
      status: "up-to-date",
      groups: [],
      grants: [],
      ...discovery.found,
      notes: [discovery.nothingToRoll],
    };
  }
  const withRoles = await withServiceLinkedRoles(step, discovery.groups);

  // 3-4. KMS grants, once per (key, service-linked role), and their propagation.
  const { grants, grantsReadyAt } = await ensureTargetGrants(
    step,
    record,
    withRoles,
    discovery.found,
  );
  const grantWait = waitForGrants(step, grantsReadyAt);
  if (grantWait) return requeue(grantWait);

  // 5. The version each template reference runs; the AMIs overrides name; the pins of groups
  // that follow `$Latest`; then the new versions.
  const templates = await resolveTemplates(step, withRoles, record.templates);
  const { groups, plans, found } = await planOverrides(step, withRoles, templates, discovery.found);
  const pins = await pinLatestGroups(step, groups, templates);
  if ("requeue" in pins) return requeue(pins.requeue);
  await createTemplateVersions(step, templates);

  // 6. An instance refresh per group, to the new version.
  const results = await refreshTargetGroups(step, groups, {
    templates,
    pins,
    overridePlans: plans,
  });

  // 7. What becomes of the target.
  const verdict = judgeTarget(results);
  if (verdict.kind === "retry") throw new RetryTargetError(verdict.message, verdict.cause);
  if (verdict.kind === "wait") return requeue(verdict.requeue);
  const { status, reason } = verdict;
  await saveTarget({ status, ...(reason ? { reason } : {}) });
  return {
    status,
    groups: groupOutcomes(results),
    grants,
    ...found,
    notes: step.notes,
    ...(reason ? { reason } : {}),
  };
};
