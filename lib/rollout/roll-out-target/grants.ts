import type { DiscoveredGroup } from "../../auto-scaling/groups.ts";
import { describeKeyOwnership, ensureGrant, parseKeyArn } from "../../kms/grants.ts";
import { amiEncryption } from "../../kms/snapshot-keys.ts";
import type { GrantRecord, TargetRecord } from "../store/index.ts";
import type { FoundGroups, Requeue, TargetStep } from "./context.ts";

/**
 * Steps 3 and 4 of a target: a KMS grant on each customer managed key of the AMI's snapshots for
 * each service-linked role that launches instances, before anything can launch; then, while a
 * new grant may not have reached Auto Scaling, a wait.
 */

export interface TargetGrants {
  readonly grants: readonly GrantRecord[];
  /** Until then a new grant may not be usable yet (absent on records before it). */
  readonly grantsReadyAt: string | undefined;
}

/**
 * 3. The grants, once per (key, service-linked role): the recorded ones when an earlier delivery
 * made them, else created (or found: CreateGrant by name returns the existing grant) and
 * recorded on the target with the keys and the groups found.
 */
export const ensureTargetGrants = async (
  step: TargetStep,
  record: TargetRecord,
  groups: readonly DiscoveredGroup[],
  found: FoundGroups,
): Promise<TargetGrants> => {
  if (record.grants) return { grants: record.grants, grantsReadyAt: record.grantsReadyAt };
  const { account, work, clients } = step;
  const encryption = await amiEncryption(work.amiId, {
    target: clients.ec2(),
    targetAccountId: account.id,
    owner: (ownerId) => clients.ownerEc2(ownerId),
    cache: step.snapshotKeyCache,
  });
  if (encryption.unencryptedSnapshotIds.length > 0) {
    step.notes.push(
      `snapshots ${encryption.unencryptedSnapshotIds.join(", ")} are unencrypted: no grant needed`,
    );
  }
  const keyRegion = (keyArn: string) => parseKeyArn(keyArn)?.region ?? work.region;
  const customerKeys: string[] = [];
  for (const keyArn of encryption.keyArns) {
    const kms = clients.kms(keyRegion(keyArn));
    if ((await describeKeyOwnership(kms, keyArn, account.id)) === "aws-managed") {
      step.notes.push(`${keyArn} is an AWS managed key: no grant needed (or possible)`);
    } else customerKeys.push(keyArn);
  }
  const roles = [...new Set(groups.map((group) => group.serviceLinkedRoleArn as string))].sort();
  const grants: GrantRecord[] = [];
  let readyAt = step.now();
  for (const keyArn of customerKeys) {
    const kms = clients.kms(keyRegion(keyArn));
    for (const granteePrincipal of roles) {
      const grant = await ensureGrant(kms, { keyArn, granteePrincipal }, account.id);
      grants.push(grant);
      const firstSeen = Date.parse(await step.store.grants.register(grant, step.nowIso()));
      readyAt = Math.max(readyAt, firstSeen + step.rollout.grantPropagationSeconds * 1000);
    }
  }
  const grantsReadyAt = new Date(readyAt).toISOString();
  await step.saveTarget({ keyArns: encryption.keyArns, grants, grantsReadyAt, ...found });
  return { grants, grantsReadyAt };
};

/** 4. A new grant may take minutes to reach Auto Scaling: launching now would fail opaquely. */
export const waitForGrants = (
  step: TargetStep,
  grantsReadyAt: string | undefined,
): Requeue | undefined => {
  const waitMs = Date.parse(grantsReadyAt ?? step.nowIso()) - step.now();
  return waitMs > 0
    ? {
        targetStatus: "waiting-for-grants",
        countsAsAttempt: false,
        delaySeconds: waitMs / 1000,
        reason: "waiting for new KMS grants to propagate",
      }
    : undefined;
};
