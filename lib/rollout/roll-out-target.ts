import { randomUUID } from "node:crypto";
import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import {
  type DiscoveredGroup,
  defaultServiceLinkedRoleArn,
  discoverGroups,
  strategyRefusal,
} from "../auto-scaling/groups.ts";
import { refreshModeOf } from "../auto-scaling/instance-refresh.ts";
import {
  describeImageFacts,
  type OverrideImagePlan,
  planOverrideImages,
} from "../auto-scaling/override-images.ts";
import { ensureDefaultServiceLinkedRole } from "../auto-scaling/service-linked-role.ts";
import type { Clock } from "../aws/clock.ts";
import { findPipeline } from "../config/find.ts";
import type { AccountConfig, OrchestratorConfig, RolloutConfig } from "../config/schema.ts";
import { errorMessage, isRetryable, OrchestratorError } from "../errors.ts";
import type { TargetMessage } from "../events/rollout-message.ts";
import { describeKeyOwnership, ensureGrant, parseKeyArn } from "../kms/grants.ts";
import { dynamoSnapshotKeyCache } from "../kms/snapshot-key-cache.ts";
import { amiEncryption } from "../kms/snapshot-keys.ts";
import {
  createVersionWithAmi,
  resolveTemplateVersion,
  sourceOfOwnVersion,
} from "../launch-templates/versions.ts";
import {
  type GroupOutcome,
  MAX_REFRESH_WAITS,
  pointGroup,
  refreshGroup,
  templateKey,
} from "./refresh-group.ts";
import {
  createRolloutStore,
  FINISHED_TARGET_STATUSES,
  type GrantRecord,
  type GroupRecord,
  type RolloutStore,
  type TargetRecord,
  type TargetStatus,
  type TargetUpdate,
  type TemplateRecord,
} from "./store/index.ts";
import { releaseTargetLease, takeTargetLease } from "./target-lease.ts";
import { recordTargetOutcome } from "./wave-progress.ts";

export { type GroupOutcome, MAX_REFRESH_WAITS } from "./refresh-group.ts";

/** SDK clients in a target account (assumed role), and in an AMI owner's account. */
export interface TargetClients {
  autoScaling(account: AccountConfig, region: string): AutoScalingClient;
  ec2(account: AccountConfig, region: string): EC2Client;
  kms(account: AccountConfig, region: string): KMSClient;
  iam(account: AccountConfig): IAMClient;
  /** EC2 in the account owning a shared AMI's snapshots, when the orchestrator can reach it. */
  ownerEc2(accountId: string, region: string): EC2Client | undefined;
}

export interface RollOutTargetDeps {
  readonly config: OrchestratorConfig;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly clients: TargetClients;
  /** Puts the message back on the queue to resume after `delaySeconds`; returns the delay used. */
  /** Sends `message` (as given: a wait for another refresh counts an attempt) after a delay. */
  readonly requeue: (message: TargetMessage, delaySeconds: number) => Promise<number>;
  readonly clock: Clock;
  /** Groups of one target rolled concurrently. */
  readonly groupConcurrency?: number;
}

/** The ids a queue message carries, resolved against our own records (never believed). */
export interface TargetWork {
  readonly rolloutId: string;
  readonly pipeline: string;
  readonly imageArn: string;
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly wave: string;
  /** From the target record that on-image-state wrote after GetImage confirmed the image. */
  readonly amiId: string;
}

/** How long to wait before asking again when a group already has a refresh running. */
export const ACTIVE_REFRESH_RETRY_SECONDS = 300;

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

/** How many earlier rollouts of the pipeline tell which override AMIs are its own. */
const EARLIER_ROLLOUTS = 5;

/**
 * The AMIs this pipeline rolled out to this target before, from our own records: an override
 * naming one launches an earlier image of the pipeline, even where its tags are not visible
 * (tags of a shared AMI are not: EC2 user guide, sharingamis-explicit).
 */
const earlierAmisOfPipeline = async (
  store: RolloutStore,
  work: TargetWork,
): Promise<Set<string>> => {
  const ids = await store.pipelines.latest(work.pipeline, EARLIER_ROLLOUTS + 1);
  const targets = await Promise.all(
    ids.filter((id) => id !== work.rolloutId).map((id) => store.targets.get(id, work)),
  );
  return new Set(targets.flatMap((target) => (target?.amiId ? [target.amiId] : [])));
};

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
  const notes: string[] = [];
  const autoScaling = deps.clients.autoScaling(account, region);

  // 1. The groups, as they are now (read-only: repeated on each delivery).
  const discovery = await discoverGroups(autoScaling, rollout.autoScalingGroups);
  const refused = discovery.groups.flatMap((group) => {
    const reason = strategyRefusal(group, rollout.instanceRefresh.strategy);
    return reason ? [{ name: group.name, reason }] : [];
  });
  const found = {
    unsupportedGroups: [...discovery.unsupported, ...refused],
    missingGroups: discovery.missing,
  };
  const rollable = discovery.groups.filter(
    (group) => !refused.some((refusal) => refusal.name === group.name),
  );
  if (rollable.length === 0) {
    await saveTarget({ status: "up-to-date", ...found });
    return {
      status: "up-to-date",
      groups: [],
      grants: [],
      ...found,
      notes: [
        discovery.groups.length === 0
          ? "no Auto Scaling group matches the selector"
          : "no group matching the selector can be rolled",
      ],
    };
  }

  // 2. Service-linked roles: each group's own (custom suffixes exist); the default one if a group has none.
  let groups = rollable;
  if (groups.some((group) => !group.serviceLinkedRoleArn)) {
    const outcome = await ensureDefaultServiceLinkedRole(deps.clients.iam(account));
    if (outcome === "created")
      notes.push("created the AWSServiceRoleForAutoScaling service-linked role");
    const fallback = defaultServiceLinkedRoleArn(account.id);
    groups = groups.map((group) => ({
      ...group,
      serviceLinkedRoleArn: group.serviceLinkedRoleArn ?? fallback,
    }));
  }

  // 3. KMS grants, once per (key, service-linked role), before anything can launch.
  let grants = record.grants;
  let grantsReadyAt = record.grantsReadyAt;
  if (!grants) {
    const ec2 = deps.clients.ec2(account, region);
    const encryption = await amiEncryption(work.amiId, {
      target: ec2,
      targetAccountId: account.id,
      owner: (ownerId) => deps.clients.ownerEc2(ownerId, region),
      cache: dynamoSnapshotKeyCache(deps.db, deps.table, () => deps.clock.now()),
    });
    if (encryption.unencryptedSnapshotIds.length > 0) {
      notes.push(
        `snapshots ${encryption.unencryptedSnapshotIds.join(", ")} are unencrypted: no grant needed`,
      );
    }
    const customerKeys: string[] = [];
    for (const keyArn of encryption.keyArns) {
      const kms = deps.clients.kms(account, parseKeyArn(keyArn)?.region ?? region);
      if ((await describeKeyOwnership(kms, keyArn, account.id)) === "aws-managed") {
        notes.push(`${keyArn} is an AWS managed key: no grant needed (or possible)`);
      } else customerKeys.push(keyArn);
    }
    const roles = [...new Set(groups.map((group) => group.serviceLinkedRoleArn as string))].sort();
    const created: GrantRecord[] = [];
    let readyAt = deps.clock.now();
    for (const keyArn of customerKeys) {
      const kms = deps.clients.kms(account, parseKeyArn(keyArn)?.region ?? region);
      for (const granteePrincipal of roles) {
        const grant = await ensureGrant(kms, { keyArn, granteePrincipal }, account.id);
        created.push(grant);
        const firstSeen = Date.parse(await store.grants.register(grant, nowIso()));
        readyAt = Math.max(readyAt, firstSeen + rollout.grantPropagationSeconds * 1000);
      }
    }
    grants = created;
    grantsReadyAt = new Date(readyAt).toISOString();
    await saveTarget({ keyArns: encryption.keyArns, grants, grantsReadyAt, ...found });
  }

  // 4. A new grant may take minutes to reach Auto Scaling: launching now would fail opaquely.
  const waitMs = Date.parse(grantsReadyAt ?? nowIso()) - deps.clock.now();
  if (waitMs > 0) {
    // Saved first: a crash in between leaves this message to be redelivered, never two chains.
    await saveTarget({ status: "waiting-for-grants" });
    const delaySeconds = await deps.requeue(message, waitMs / 1000);
    return { status: "requeued", reason: "waiting for new KMS grants to propagate", delaySeconds };
  }

  // 5. One new launch-template version per distinct (template, version in use). First the version
  // each reference runs is resolved and saved, for all of them, before anything is created: after
  // a crash (or while another reference to the same template is being rolled), `$Latest` or
  // `$Default` may already name our new version, and the group would look up to date.
  const templates: Record<string, TemplateRecord> = { ...record.templates };
  const ec2 = deps.clients.ec2(account, region);
  const templateErrors = new Map<string, unknown>();
  const references = new Map<string, NonNullable<DiscoveredGroup["launchTemplate"]>>();
  for (const group of groups) {
    if (group.launchTemplate) references.set(templateKey(group), group.launchTemplate);
  }
  let transient: unknown;
  const concurrency = { concurrency: deps.groupConcurrency ?? 4 };
  const unresolved = [...references].filter(([key]) => !templates[key]);
  await pMap(
    unresolved,
    async ([key, reference]) => {
      try {
        const resolved = await resolveTemplateVersion(ec2, reference);
        // Our own version for this AMI (created by an earlier delivery): start from its source.
        const ownSource = sourceOfOwnVersion(resolved, {
          amiId: work.amiId,
          rolloutId: work.rolloutId,
        });
        templates[key] = {
          launchTemplateId: resolved.launchTemplateId,
          launchTemplateName: resolved.launchTemplateName,
          sourceVersion: ownSource ?? resolved.versionNumber,
          ...(ownSource === undefined && resolved.imageId
            ? { sourceImageId: resolved.imageId }
            : {}),
        };
      } catch (error) {
        if (isRetryable(error)) transient ??= error;
        else templateErrors.set(key, error);
      }
    },
    concurrency,
  );
  if (unresolved.length > 0) await saveTarget({ templates });
  if (transient) throw transient;

  // 5b. AMIs that overrides name themselves, judged once per target in one call: replaced when
  // they are earlier images of this pipeline (the group's own template AMI, or an AMI our records
  // show this pipeline rolled out here, or one Image Builder tagged as this recipe's), left
  // alone when they are another's, and the group not rolled at all when the new AMI cannot
  // replace them (another architecture) or, with ReplaceRootVolume, when no override is ours.
  const overridePlans = new Map<string, OverrideImagePlan>();
  const overrideImageIds = [...new Set(groups.flatMap((group) => group.overrideImageIds))];
  if (overrideImageIds.length > 0) {
    const [facts, earlier] = await Promise.all([
      describeImageFacts(ec2, [work.amiId, ...overrideImageIds]),
      earlierAmisOfPipeline(store, work),
    ]);
    const refused: Array<{ name: string; reason: string }> = [];
    for (const group of groups) {
      const own = templates[templateKey(group)]?.sourceImageId;
      const plan = planOverrideImages(
        group,
        work,
        new Set([...earlier, ...(own ? [own] : [])]),
        facts,
      );
      overridePlans.set(group.name, plan);
      for (const kept of plan.kept) notes.push(`${group.name}: ${kept.reason}`);
      if (plan.blocked.length > 0)
        refused.push({ name: group.name, reason: plan.blocked.map((b) => b.reason).join("; ") });
      else if (
        rollout.instanceRefresh.strategy === "ReplaceRootVolume" &&
        plan.replacements.size === 0
      )
        // Every override names its AMI, so the template's is never launched: a refresh would
        // replace every root volume with the AMI it already has.
        refused.push({
          name: group.name,
          reason:
            "ReplaceRootVolume: no override launches an image of this pipeline, so there is nothing to replace",
        });
    }
    if (refused.length > 0) {
      const names = new Set(refused.map((group) => group.name));
      groups = groups.filter((group) => !names.has(group.name));
      // Their templates get no new version unless a group still rolled uses them.
      for (const key of [...references.keys()])
        if (!groups.some((group) => templateKey(group) === key)) references.delete(key);
      found.unsupportedGroups = [...found.unsupportedGroups, ...refused];
      await saveTarget({ unsupportedGroups: found.unsupportedGroups });
    }
  }

  const uncreated = [...references.keys()].filter(
    (key) => templates[key] && templates[key].versionNumber === undefined,
  );

  // A group that follows `$Latest` would launch our new version the moment it exists: before
  // its refresh, and still after a failed or rolled-back one. It is pinned first to the version
  // it runs (recorded before the call, so the pin is never forgotten).
  const pinned = new Set<string>();
  const gaveUp = new Map<string, string>();
  for (const group of groups) {
    const template = templates[templateKey(group)];
    if (
      group.launchTemplate?.version !== "$Latest" ||
      !template ||
      template.sourceImageId === work.amiId ||
      refreshModeOf(group) === "group-update"
    )
      continue;
    await saveGroup({
      group: group.name,
      accountId: account.id,
      region,
      status: "starting",
      follows: "$Latest",
      launchTemplateId: template.launchTemplateId,
      previousVersion: template.sourceVersion,
      updatedAt: nowIso(),
    });
    const pin = await pointGroup(
      autoScaling,
      group,
      template.launchTemplateId,
      template.sourceVersion,
      rollout.instanceRefresh,
    );
    if (pin !== "pointed") {
      if (message.attempt >= MAX_REFRESH_WAITS) {
        // Given up on this group: it is reported failed below; the others go on.
        gaveUp.set(
          group.name,
          `${pin} for ${MAX_REFRESH_WAITS} attempts: giving up (it follows $Latest and another instance refresh kept running on it)`,
        );
        continue;
      }
      // Another refresh runs on it: no version is created while it could leak into the group.
      await saveTarget({ status: "waiting-for-refresh" });
      const delaySeconds = await deps.requeue(
        { ...message, attempt: message.attempt + 1 },
        pin === "cancelling-active-refresh" ? 60 : ACTIVE_REFRESH_RETRY_SECONDS,
      );
      return {
        status: "requeued",
        reason: `${group.name} follows $Latest and another instance refresh is running on it${pin === "cancelling-active-refresh" ? " (cancelled, as configured)" : ""}`,
        delaySeconds,
      };
    }
    pinned.add(group.name);
  }
  await pMap(
    uncreated,
    async (key) => {
      const source = templates[key] as TemplateRecord;
      try {
        const version = await createVersionWithAmi(
          ec2,
          {
            launchTemplateId: source.launchTemplateId,
            versionNumber: source.sourceVersion,
            ...(source.sourceImageId ? { imageId: source.sourceImageId } : {}),
          },
          { amiId: work.amiId, rolloutId: work.rolloutId },
        );
        templates[key] = {
          ...source,
          versionNumber: version.versionNumber,
          created: version.created,
        };
      } catch (error) {
        if (isRetryable(error)) transient ??= error;
        else templateErrors.set(key, error);
      }
    },
    concurrency,
  );
  // Record what was created before failing for a retry: the redelivery will not create it again.
  if (uncreated.length > 0) await saveTarget({ templates });
  if (transient) throw transient;

  // 6. An instance refresh per group, to the new version, a few groups at a time.
  const recorded = new Map(
    (await store.groups.list(work.rolloutId, work)).map((group) => [group.group, group]),
  );
  const outcomes = await pMap(
    groups,
    (group) =>
      refreshGroup(group, {
        work,
        attempt: message.attempt,
        account,
        rollout,
        autoScaling,
        templates,
        templateErrors,
        pinned,
        gaveUp,
        overridePlans,
        recorded,
        nowIso,
        saveGroup,
      }),
    { concurrency: deps.groupConcurrency ?? 4 },
  );
  const groupOutcomes: GroupOutcome[] = outcomes.map(
    ({ group, status, instanceRefreshId, previousVersion, newVersion, reason }) => ({
      group,
      status,
      ...(instanceRefreshId ? { instanceRefreshId } : {}),
      ...(previousVersion === undefined ? {} : { previousVersion }),
      ...(newVersion === undefined ? {} : { newVersion }),
      ...(reason ? { reason } : {}),
    }),
  );

  const retry = outcomes.filter((outcome) => outcome.status === "retry");
  if (retry.length > 0) {
    throw new RetryTargetError(
      `${retry.length} group(s) hit a transient error: ${retry.map((outcome) => `${outcome.group}: ${outcome.reason}`).join("; ")}`,
      retry[0]?.error,
    );
  }
  if (outcomes.some((outcome) => outcome.status === "waiting")) {
    const cancelling = outcomes.some((outcome) => outcome.reason === "cancelling-active-refresh");
    await saveTarget({ status: "waiting-for-refresh" });
    const delaySeconds = await deps.requeue(
      { ...message, attempt: message.attempt + 1 },
      cancelling ? 60 : ACTIVE_REFRESH_RETRY_SECONDS,
    );
    return {
      status: "requeued",
      reason: "waiting for another instance refresh to end",
      delaySeconds,
    };
  }
  const failed = outcomes.filter((outcome) => outcome.status === "failed");
  const status: TargetStatus =
    failed.length === outcomes.length
      ? "failed"
      : failed.length > 0
        ? "partially-failed"
        : outcomes.some((outcome) => outcome.status === "refresh-started")
          ? "refreshing"
          : "up-to-date";
  const reason =
    failed.length > 0
      ? failed.map((outcome) => `${outcome.group}: ${outcome.reason}`).join("; ")
      : undefined;
  await saveTarget({ status, ...(reason ? { reason } : {}) });
  return { status, groups: groupOutcomes, grants, ...found, notes, ...(reason ? { reason } : {}) };
};
