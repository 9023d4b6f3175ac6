import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Alert } from "../alerts/types.ts";
import type { TargetAccount } from "../aws/target-clients.ts";
import type { OrchestratorConfig } from "../config/schema.ts";
import type { LaunchUnsuccessfulEvent } from "../events/launch-unsuccessful.ts";
import type { GrantResult } from "../kms/grants.ts";
import {
  type DiagnoseClients,
  diagnoseLaunchFailure,
  type LaunchFailureDiagnosis,
} from "./diagnose.ts";
import {
  advanceEpisode,
  claimEpisode,
  type EpisodeKey,
  type EpisodePlan,
  healsGrants,
  launchedSince,
  readEpisode,
  stateOf,
} from "./episodes.ts";
import { healDecision, healMissingGrants, planGrants } from "./heal.ts";

/**
 * One failed launch, end to end: diagnose (read-only), then claim the episode, recording the
 * alert and the grants to heal, before acting: heal a missing grant when the config allows it,
 * and alert once per episode (lib/launch-failures/episodes.ts has the states). A retry after a
 * crash resumes from the recorded state: the heal it finds done is not taken for a new "chain
 * intact" episode, and the alert it sends is the one recorded, saying what was healed.
 *
 * The one window left: a crash after the alert is queued and before `alerted` is written makes
 * the retry queue it again (SQS standard queues have no deduplication). It is the same alert,
 * the same key, and the alerts function delivers one per key. So do two failures of one episode
 * explained at the same moment, before either recorded `alerted`.
 */

export interface ExplainDeps {
  readonly config: OrchestratorConfig;
  readonly clients: (account: TargetAccount, region: string) => DiagnoseClients;
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly now: () => Date;
  readonly publishAlert?: ((alert: Alert) => Promise<void>) | undefined;
  /** How long an episode stays open without a new failure (default 6 hours). */
  readonly episodeWindowSeconds?: number;
}

export type ExplainOutcome =
  | { readonly outcome: "unconfigured-account"; readonly accountId: string }
  | {
      readonly outcome: "alerted" | "duplicate";
      readonly diagnosis: LaunchFailureDiagnosis;
      readonly healed: readonly GrantResult[];
      readonly action: string;
      readonly failuresInEpisode: number;
    };

const DEFAULT_WINDOW_SECONDS = 6 * 3600;

export const explainLaunchFailure = async (
  event: LaunchUnsuccessfulEvent,
  deps: ExplainDeps,
): Promise<ExplainOutcome> => {
  const account = Object.values(deps.config.accounts).find((a) => a.id === event.accountId);
  if (!account) return { outcome: "unconfigured-account", accountId: event.accountId };
  const clients = deps.clients(account, event.region);
  const diagnosis = await diagnoseLaunchFailure(event, clients);
  const group = {
    accountId: event.accountId,
    region: event.region,
    name: event.autoScalingGroupName,
    tags: diagnosis.groupTags ?? {},
  };
  const key = (cause: string): EpisodeKey => ({
    accountId: event.accountId,
    region: event.region,
    group: event.autoScalingGroupName,
    cause,
  });

  let action = "nothing: diagnosis only";
  let pipeline: string | undefined;
  let grants: EpisodePlan["grants"] = [];
  if (diagnosis.cause === "missing-grant") {
    const decision = healDecision(deps.config, group);
    if (decision.heal) {
      pipeline = decision.pipeline;
      grants = planGrants(diagnosis.missingGrants);
      // Said before it is done: the alert is recorded now and sent once the grants exist.
      action = `created ${grants.map((grant) => `grant ${grant.grantName} on ${grant.keyArn}`).join(", ")} for ${diagnosis.missingGrants[0]?.granteePrincipal} (pipeline ${decision.pipeline}, rollout.healGrants); grants take up to about 5 minutes to be usable, then the group's next launch succeeds`;
    } else action = `not healed: ${decision.reason}`;
  }

  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  // A failure right after a heal (or a retry after one) finds the grant in place, not yet
  // propagated: it belongs to the healing episode, not a new "chain intact" one.
  const healing =
    diagnosis.cause === "chain-intact" &&
    healsGrants(await readEpisode(deps.db, deps.table, key("missing-grant"), nowSeconds));
  const episodeKey = key(healing ? "missing-grant" : diagnosis.cause);
  const alert: EpisodePlan["alert"] = {
    kind: "launch-failed",
    accountId: event.accountId,
    region: event.region,
    group: event.autoScalingGroupName,
    activityId: event.activityId,
    since: event.time,
    cause: episodeKey.cause,
    explanation: diagnosis.explanation,
    ...(diagnosis.fix ? { fix: diagnosis.fix } : {}),
    ...(diagnosis.consoleUrl ? { consoleUrl: diagnosis.consoleUrl } : {}),
    chain: diagnosis.chain,
    statusMessage: diagnosis.statusMessage,
    action,
    ...(pipeline ? { pipeline } : {}),
  };
  const claim = await claimEpisode(
    deps.db,
    deps.table,
    { ...episodeKey, at: event.time, activityId: event.activityId, plan: { alert, grants } },
    {
      now: deps.now(),
      windowSeconds: deps.episodeWindowSeconds ?? DEFAULT_WINDOW_SECONDS,
      launchedSince: (since) =>
        launchedSince(clients.autoScaling, event.autoScalingGroupName, since),
    },
  );
  const record = claim.record;
  const state = stateOf(record);
  const failuresInEpisode = record.failures;
  // What the episode did about it, as recorded (an item from before `alert` was recorded: now).
  const recorded = record.alert ?? {
    ...alert,
    activityId: record.activityId,
    since: record.firstAt,
  };
  if (state === "alerted")
    return {
      outcome: "duplicate",
      diagnosis,
      healed: [],
      action: recorded.action,
      failuresInEpisode,
    };

  let healed: GrantResult[] = [];
  if (state === "healing") {
    healed = await healMissingGrants(clients.kms, record.grants ?? [], event.accountId);
    await advanceEpisode(deps.db, deps.table, episodeKey, ["healing"], "healed");
  }
  await deps.publishAlert?.(recorded);
  await advanceEpisode(deps.db, deps.table, episodeKey, ["claimed", "healed"], "alerted");
  return { outcome: "alerted", diagnosis, healed, action: recorded.action, failuresInEpisode };
};
