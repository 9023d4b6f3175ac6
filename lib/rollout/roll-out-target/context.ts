import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { KMSClient } from "@aws-sdk/client-kms";
import type { AccountConfig, RolloutConfig } from "../../config/schema.ts";
import type { SnapshotKeyCache } from "../../kms/snapshot-keys.ts";
import type {
  GroupRecord,
  RolloutStore,
  TargetRecord,
  TargetStatus,
  TargetUpdate,
} from "../store/index.ts";

/**
 * What each step of rolling out one target (lib/rollout/roll-out-target.ts) works with, and what
 * a step gives back when the target must wait: typed fields, never text a later step parses.
 */

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

/** How long to wait when that refresh is being cancelled (as configured): it stops soon. */
export const CANCELLING_REFRESH_RETRY_SECONDS = 60;

/** The target's clients (its account and region), made when a step first needs one. */
export interface TargetStepClients {
  autoScaling(): AutoScalingClient;
  ec2(): EC2Client;
  /** KMS in the target account, in the key's region. */
  kms(region: string): KMSClient;
  iam(): IAMClient;
  /** EC2 in the account owning a shared AMI's snapshots, when the orchestrator can reach it. */
  ownerEc2(accountId: string): EC2Client | undefined;
}

export interface TargetStep {
  readonly work: TargetWork;
  /** How many times the target's message was re-enqueued to wait for another refresh. */
  readonly attempt: number;
  readonly account: AccountConfig;
  readonly rollout: RolloutConfig;
  readonly clients: TargetStepClients;
  readonly store: RolloutStore;
  readonly snapshotKeyCache: SnapshotKeyCache;
  readonly now: () => number;
  readonly nowIso: () => string;
  /** The target's record: each step is saved before the next one runs. */
  readonly saveTarget: (fields: TargetUpdate) => Promise<void>;
  readonly saveGroup: (group: GroupRecord) => Promise<void>;
  /** Groups of the target worked on at once. */
  readonly groupConcurrency: number;
  /** What the steps found worth telling, in the order they ran (the outcome's notes). */
  readonly notes: string[];
}

/** Groups the target does not roll, and why; and names the selector lists that do not exist. */
export interface FoundGroups {
  readonly unsupportedGroups: ReadonlyArray<{ name: string; reason: string }>;
  readonly missingGroups: readonly string[];
}

/** The target waits: its message goes back on the queue. */
export interface Requeue {
  /** What the target record says meanwhile. */
  readonly targetStatus: Extract<TargetStatus, "waiting-for-grants" | "waiting-for-refresh">;
  /** A wait for another refresh counts as an attempt (given up after MAX_REFRESH_WAITS). */
  readonly countsAsAttempt: boolean;
  readonly delaySeconds: number;
  readonly reason: string;
}

export type SavedTemplates = TargetRecord["templates"];
