import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import type { STSClient } from "@aws-sdk/client-sts";
import { type ClientOptions, clientConfig, memoizeClients, regionalClients } from "./clients.ts";
import { systemClock } from "./clock.ts";
import { AssumedRoleCredentials, reassumeOnExpiredCredentials } from "./credentials.ts";
import { iamRegionFor } from "./iam-region.ts";

/**
 * Clients in target accounts, signed with the account's assumed role: the one place that builds
 * them, for roll-out-target, watch-rollouts, the doctor and explain-launch-failure.
 */

/** A target account as the config declares it. */
export interface TargetAccount {
  readonly id: string;
  readonly roleName: string;
  readonly externalId: string;
  /** Its regions: their partition decides the IAM endpoint. */
  readonly regions: readonly string[];
}

/** The SDK clients the orchestrator uses in target accounts, one per account and region. */
export interface TargetClients {
  autoScaling(account: TargetAccount, region: string): AutoScalingClient;
  ec2(account: TargetAccount, region: string): EC2Client;
  kms(account: TargetAccount, region: string): KMSClient;
  iam(account: TargetAccount): IAMClient;
  /** EC2 in the account owning a shared AMI's snapshots, when the orchestrator can reach it. */
  ownerEc2(accountId: string, region: string): EC2Client | undefined;
}

/**
 * For one SDK client type, one client per target account and region, signed with the account's
 * assumed role. The credentials are cached once per role and shared by every client of the
 * account; the clients live as long as the container.
 */
export const targetAccountClients =
  (credentials: AssumedRoleCredentials, sessionLabel: string) =>
  <C>(create: (options: ClientOptions) => C) => {
    const get = memoizeClients(create);
    return (account: TargetAccount, region: string): C => {
      const role = {
        accountId: account.id,
        roleName: account.roleName,
        externalId: account.externalId,
      };
      return get(
        { region, credentials: credentials.provider(role, sessionLabel) },
        `${account.id}|${region}`,
        // Expired credentials are dropped and the call retried once with new ones.
        (client) => reassumeOnExpiredCredentials(client, credentials, role),
      );
    };
  };

/**
 * Clients in target accounts, through the assumed role, one per account and region; the session
 * is named after the function (`sessionLabel`) whose role assumes it.
 */
export const assumedRoleClients = (
  sts: STSClient,
  /** The configured accounts: a shared AMI's owner among them is reached through its role. */
  config: { readonly accounts: Readonly<Record<string, TargetAccount>> },
  sessionLabel: string,
  /** Shared with other clients of the same run (one AssumeRole per account). */
  credentials = new AssumedRoleCredentials({ sts, clock: systemClock }),
): TargetClients => {
  const inTarget = targetAccountClients(credentials, sessionLabel);
  const iam = inTarget((o) => new IAMClient(clientConfig(o)));
  const ec2 = inTarget((o) => new EC2Client(clientConfig(o)));
  const ownEc2 = regionalClients((o) => new EC2Client(clientConfig(o)));
  return {
    autoScaling: inTarget((o) => new AutoScalingClient(clientConfig(o))),
    ec2,
    kms: inTarget((o) => new KMSClient(clientConfig(o))),
    // IAM is global in each partition: the partition of the account's regions (an account is in
    // one: lib/config/schema.ts) decides the endpoint and its region.
    iam: (account) => {
      const [region] = account.regions;
      if (!region) throw new Error(`account ${account.id} lists no region`);
      return iam(account, iamRegionFor(region));
    },
    // A shared AMI's snapshots are described by their owner (a target cannot: not shared with
    // it). A configured account through its role; otherwise the build account the orchestrator
    // runs in, with its own credentials (its role may DescribeImages/DescribeSnapshots). An owner
    // that is neither fails with the reason (lib/kms/snapshot-keys.ts).
    ownerEc2: (accountId, region) => {
      const owner = Object.values(config.accounts).find((account) => account.id === accountId);
      return owner ? ec2(owner, region) : ownEc2(region);
    },
  };
};
