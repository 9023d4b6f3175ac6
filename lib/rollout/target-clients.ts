import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import type { STSClient } from "@aws-sdk/client-sts";
import { clientConfig, regionalClients } from "../aws/clients.ts";
import { systemClock } from "../aws/clock.ts";
import { AssumedRoleCredentials } from "../aws/credentials.ts";
import { iamRegionFor } from "../aws/iam-region.ts";
import { targetAccountClients } from "../aws/target-clients.ts";
import type { OrchestratorConfig } from "../config/schema.ts";
import type { TargetClients } from "./roll-out-target.ts";

/**
 * Clients in target accounts, through the assumed role, one per account and region; the session
 * is named after the function (`sessionLabel`) whose role assumes it.
 */
export const assumedRoleClients = (
  sts: STSClient,
  config: OrchestratorConfig,
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
