import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { OrchestratorError } from "../errors.ts";

/** What encrypts an AMI's EBS snapshots: the keys that need grants, and what does not. */
export interface AmiEncryption {
  readonly amiId: string;
  readonly ownerId: string;
  /** Distinct KMS key ARNs of the encrypted snapshots. */
  readonly keyArns: readonly string[];
  readonly unencryptedSnapshotIds: readonly string[];
}

export class AmiNotFoundError extends OrchestratorError {}

/** What another account's snapshots were found encrypted with, kept to be read once per AMI. */
export interface SnapshotKeyCache {
  get(amiId: string): Promise<Omit<AmiEncryption, "amiId"> | undefined>;
  put(amiId: string, facts: Omit<AmiEncryption, "amiId">): Promise<void>;
}

/** DescribeSnapshots takes many ids per call; stay well inside request-size limits. */
const SNAPSHOT_BATCH = 200;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, index * size + size),
  );

/**
 * Finds the KMS keys behind an AMI. `target` is the EC2 client in the account that launches the
 * AMI; `owner` returns a client in the account that owns its snapshots when that is another
 * account (a shared AMI): a target account cannot describe snapshots it does not own unless they
 * are shared with it, but the build account always can. Snapshots that cannot be read fail with
 * the reason, rather than passing for unencrypted ones.
 */
export const amiEncryption = async (
  amiId: string,
  clients: {
    target: EC2Client;
    targetAccountId: string;
    owner: (accountId: string) => EC2Client | undefined;
    /** Where a shared AMI's (another owner's) snapshot keys are kept once read. */
    cache?: SnapshotKeyCache;
  },
): Promise<AmiEncryption> => {
  const images = await clients.target.send(new DescribeImagesCommand({ ImageIds: [amiId] })).then(
    (output) => output.Images ?? [],
    (error: unknown) => {
      // A copy still being distributed (or never shared here) is "not found", not an empty list.
      if (error instanceof Error && error.name === "InvalidAMIID.NotFound") return [];
      throw error;
    },
  );
  const image = images[0];
  if (!image) {
    throw new AmiNotFoundError(
      `AMI ${amiId} is not visible in account ${clients.targetAccountId}: was it distributed or shared there?`,
      { retryable: true },
    );
  }
  const ownerId = image.OwnerId ?? clients.targetAccountId;
  const snapshotIds = [
    ...new Set(
      (image.BlockDeviceMappings ?? []).flatMap((mapping) =>
        mapping.Ebs?.SnapshotId ? [mapping.Ebs.SnapshotId] : [],
      ),
    ),
  ];
  const shared = ownerId !== clients.targetAccountId;
  // The target's own DescribeImages above stays per target: it proves the AMI is visible there.
  const cached = shared ? await clients.cache?.get(amiId) : undefined;
  if (cached?.ownerId === ownerId) return { amiId, ...cached };
  const ec2 = shared ? (clients.owner(ownerId) ?? clients.target) : clients.target;
  const keyArns = new Set<string>();
  const unencrypted: string[] = [];
  // Snapshots the caller cannot see answer InvalidSnapshot.NotFound, or (API reference) are left
  // out of the results. Either way their keys are unknown: never conclude "no grant needed".
  const unreadable = (missing: readonly string[], cause?: unknown) =>
    new OrchestratorError(
      `cannot read snapshots ${missing.join(", ")} of AMI ${amiId} (owned by ${ownerId}) from account ${ec2 === clients.target ? clients.targetAccountId : ownerId}: a shared AMI's snapshots are described with its owner's credentials (the orchestrator's own account, or a configured account), so deploy the orchestrator in the build account or distribute copies (targetAccountIds)`,
      { cause },
    );
  for (const batch of chunks(snapshotIds, SNAPSHOT_BATCH)) {
    const { Snapshots: snapshots = [] } = await ec2
      .send(new DescribeSnapshotsCommand({ SnapshotIds: batch }))
      .catch((error: unknown) => {
        if (error instanceof Error && error.name === "InvalidSnapshot.NotFound")
          throw unreadable(batch, error);
        throw error;
      });
    const seen = new Set(snapshots.map((snapshot) => snapshot.SnapshotId));
    const missing = batch.filter((snapshotId) => !seen.has(snapshotId));
    if (missing.length > 0) throw unreadable(missing);
    for (const snapshot of snapshots) {
      if (snapshot.Encrypted && snapshot.KmsKeyId) keyArns.add(snapshot.KmsKeyId);
      else if (snapshot.SnapshotId) unencrypted.push(snapshot.SnapshotId);
    }
  }
  const facts = { ownerId, keyArns: [...keyArns].sort(), unencryptedSnapshotIds: unencrypted };
  if (shared) await clients.cache?.put(amiId, facts);
  return { amiId, ...facts };
};
