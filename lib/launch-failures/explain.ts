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
  claimEpisode,
  type EpisodeKey,
  launchedSince,
  markEpisode,
  readEpisode,
} from "./episodes.ts";
import { healDecision, healMissingGrants } from "./heal.ts";

/**
 * One failed launch, end to end: diagnose (read-only), heal a missing grant when the config
 * allows it, and alert once per episode. The heal runs on every event of an episode, before the
 * dedup: it is idempotent (named grants), so a redelivery after a crash still heals.
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

  let healed: GrantResult[] = [];
  let action = "nothing: diagnosis only";
  let pipeline: string | undefined;
  if (diagnosis.cause === "missing-grant") {
    const decision = healDecision(deps.config, group);
    if (decision.heal) {
      pipeline = decision.pipeline;
      healed = await healMissingGrants(clients.kms, diagnosis.missingGrants, event.accountId);
      action = `created ${healed.map((grant) => `grant ${grant.grantName} on ${grant.keyArn}`).join(", ")} for ${diagnosis.missingGrants[0]?.granteePrincipal} (pipeline ${decision.pipeline}, rollout.healGrants); grants take up to about 5 minutes to be usable, then the group's next launch succeeds`;
    } else action = `not healed: ${decision.reason}`;
  }

  const nowSeconds = Math.floor(deps.now().getTime() / 1000);
  // A failure right after a heal finds the grant in place (not yet propagated): it belongs to
  // the healed episode, not a new "chain intact" one.
  const healedEpisode =
    diagnosis.cause === "chain-intact"
      ? await readEpisode(deps.db, deps.table, key("missing-grant"), nowSeconds)
      : undefined;
  const episodeKey = key(healedEpisode?.healed ? "missing-grant" : diagnosis.cause);
  const claim = await claimEpisode(
    deps.db,
    deps.table,
    { ...episodeKey, at: event.time, activityId: event.activityId },
    {
      now: deps.now(),
      windowSeconds: deps.episodeWindowSeconds ?? DEFAULT_WINDOW_SECONDS,
      launchedSince: (since) =>
        launchedSince(clients.autoScaling, event.autoScalingGroupName, since),
    },
  );
  if (healed.length > 0) await markEpisode(deps.db, deps.table, episodeKey, { healed: true });
  const failuresInEpisode = claim.record.failures;
  if (!claim.opened && claim.record.alerted)
    return { outcome: "duplicate", diagnosis, healed, action, failuresInEpisode };

  await deps.publishAlert?.({
    kind: "launch-failed",
    accountId: event.accountId,
    region: event.region,
    group: event.autoScalingGroupName,
    activityId: claim.record.activityId,
    since: claim.record.firstAt,
    cause: episodeKey.cause,
    explanation: diagnosis.explanation,
    ...(diagnosis.fix ? { fix: diagnosis.fix } : {}),
    ...(diagnosis.consoleUrl ? { consoleUrl: diagnosis.consoleUrl } : {}),
    chain: diagnosis.chain,
    statusMessage: diagnosis.statusMessage,
    action,
    ...(pipeline ? { pipeline } : {}),
  });
  await markEpisode(deps.db, deps.table, episodeKey, { alerted: true });
  return { outcome: "alerted", diagnosis, healed, action, failuresInEpisode };
};
