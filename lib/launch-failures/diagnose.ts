import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, type KeyMetadata, type KMSClient } from "@aws-sdk/client-kms";
import { defaultServiceLinkedRoleArn, referenceOf } from "../auto-scaling/groups.ts";
import type { LaunchUnsuccessfulEvent } from "../events/launch-unsuccessful.ts";
import {
  AUTO_SCALING_GRANT_OPERATIONS,
  findGrant,
  type GrantRequest,
  parseKeyArn,
} from "../kms/grants.ts";
import { amiEncryption } from "../kms/snapshot-keys.ts";
import { LaunchTemplateError, resolveTemplateVersion } from "../launch-templates/versions.ts";
import { type RecognisedCause, recogniseCause } from "./causes.ts";

/**
 * Why an instance did not launch, found read-only in the target account with the assumed role.
 * For `Client.InternalError` the chain a launch depends on is followed link by link (group →
 * launch template version → AMI → snapshots → keys → key state and grants for the group's
 * service-linked role) and the first broken link is named; other recognised messages are
 * explained with their fix; anything else is passed through verbatim, never guessed.
 */

export type DiagnosedCause =
  | Exclude<RecognisedCause, "client-internal-error">
  | "missing-grant"
  | "key-disabled"
  | "key-pending-deletion"
  | "key-not-shareable"
  | "key-policy"
  | "group-gone"
  | "chain-intact"
  | "unknown";

export interface LaunchFailureDiagnosis {
  readonly cause: DiagnosedCause;
  /** One sentence naming what is broken. */
  readonly explanation: string;
  /** What to do about it (absent for unknown messages). */
  readonly fix?: string;
  readonly consoleUrl?: string;
  /** The links followed, in order, for a Client.InternalError. */
  readonly chain: readonly string[];
  /** Grants the group's service-linked role lacks (the healable case). */
  readonly missingGrants: readonly GrantRequest[];
  /** Auto Scaling's own words, verbatim. */
  readonly statusMessage: string;
  /** The group's tags, when the chain was followed (they decide whether it may be healed). */
  readonly groupTags?: Readonly<Record<string, string>>;
}

export interface DiagnoseClients {
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
  readonly kms: KMSClient;
  /** EC2 in the account that owns a shared AMI's snapshots (see lib/kms/snapshot-keys.ts). */
  readonly owner: (accountId: string) => EC2Client | undefined;
}

const consoleHost = "console.aws.amazon.com";
const groupActivityUrl = (region: string, group: string) =>
  `https://${region}.${consoleHost}/ec2/home?region=${region}#AutoScalingGroupDetails:id=${encodeURIComponent(group)};view=activity`;
const keyUrl = (keyArn: string) => {
  const key = parseKeyArn(keyArn);
  const region = key?.region ?? "us-east-1";
  return `https://${region}.${consoleHost}/kms/home?region=${region}#/kms/keys/${keyArn.split("/").at(-1)}`;
};

const isAccessDenied = (error: unknown): boolean =>
  error instanceof Error &&
  /AccessDenied|NotAuthorized|UnauthorizedOperation/i.test(`${error.name} ${error.message}`);

const reasonOf = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** The recognised causes that need no lookup: explanation, fix and console link. */
const explainRecognised = (
  cause: Exclude<RecognisedCause, "client-internal-error">,
  event: LaunchUnsuccessfulEvent,
): Pick<LaunchFailureDiagnosis, "explanation" | "fix" | "consoleUrl"> => {
  const { region, autoScalingGroupName: group } = event;
  switch (cause) {
    case "ami-unavailable":
      return {
        explanation: `the AMI in group ${group}'s launch template cannot be launched in account ${event.accountId} (deregistered, not shared any more, or not yet available)`,
        fix: "point the launch template at an available AMI (or share the AMI with this account again), then let the group retry",
        consoleUrl: `https://${region}.${consoleHost}/ec2/home?region=${region}#Images:visibility=private-images`,
      };
    case "insufficient-capacity":
      return {
        explanation: `EC2 has no capacity for the requested instance type in ${event.availabilityZone ?? "this Availability Zone"}, or does not offer it there`,
        fix: "add subnets in other Availability Zones to the group, or allow more instance types (a mixed instances policy); the group retries on its own",
        consoleUrl: groupActivityUrl(region, group),
      };
    case "instance-quota":
      return {
        explanation: `account ${event.accountId} reached its EC2 vCPU (or instance) quota in ${region}`,
        fix: "request a quota increase in Service Quotas (Running On-Demand/Spot instances), or lower other usage",
        consoleUrl: `https://${region}.${consoleHost}/servicequotas/home/services/ec2/quotas?region=${region}`,
      };
    case "invalid-launch-template":
      return {
        explanation: `group ${group}'s launch template or the version it uses does not exist or is invalid`,
        fix: "point the group at an existing launch template version (UpdateAutoScalingGroup), or restore the template",
        consoleUrl: `https://${region}.${consoleHost}/ec2/home?region=${region}#LaunchTemplates:`,
      };
    case "instance-profile":
      return {
        explanation: `the IAM instance profile in group ${group}'s launch template does not exist (or is not ready yet)`,
        fix: "create the instance profile, or point the launch template at an existing one",
        consoleUrl: `https://${consoleHost}/iam/home#/roles`,
      };
  }
};

/** Follows the chain behind a Client.InternalError to the first broken link. */
const followKeyChain = async (
  event: LaunchUnsuccessfulEvent,
  clients: DiagnoseClients,
): Promise<Omit<LaunchFailureDiagnosis, "statusMessage">> => {
  const { region, accountId, autoScalingGroupName: groupName } = event;
  const chain: string[] = [];
  const activity = groupActivityUrl(region, groupName);
  const broken = (
    cause: DiagnosedCause,
    explanation: string,
    fix: string,
    consoleUrl = activity,
    missingGrants: GrantRequest[] = [],
  ) => ({ cause, explanation, fix, consoleUrl, chain, missingGrants });

  const { AutoScalingGroups: groups = [] } = await clients.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const group = groups[0];
  if (!group)
    return broken(
      "group-gone",
      `group ${groupName} no longer exists in ${accountId}/${region}: nothing left to diagnose`,
      "none needed",
    );
  const reference = referenceOf(group);
  if (!reference)
    return broken(
      "invalid-launch-template",
      `group ${groupName} has no launch template (${group.LaunchConfigurationName ? `launch configuration ${group.LaunchConfigurationName}` : "none"}): its key chain cannot be followed`,
      "migrate the group to a launch template",
    );
  const groupTags = Object.fromEntries(
    (group.Tags ?? []).flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? ""]] : [])),
  );
  const grantee = group.ServiceLinkedRoleARN ?? defaultServiceLinkedRoleArn(accountId);
  let version: Awaited<ReturnType<typeof resolveTemplateVersion>>;
  try {
    version = await resolveTemplateVersion(clients.ec2, reference);
  } catch (error) {
    if (!(error instanceof LaunchTemplateError) && !/LaunchTemplate/.test(reasonOf(error)))
      throw error;
    return broken(
      "invalid-launch-template",
      `group ${groupName}'s launch template ${reference.launchTemplateId ?? reference.launchTemplateName} version ${reference.version} cannot be read (${reasonOf(error)})`,
      "point the group at an existing launch template version",
    );
  }
  chain.push(
    `group ${groupName} launches ${version.launchTemplateName} version ${version.versionNumber} (${reference.version})`,
  );
  if (!version.imageId)
    return broken(
      "invalid-launch-template",
      `${version.launchTemplateName} version ${version.versionNumber} names no AMI`,
      "set ImageId in the launch template",
    );
  chain.push(`version ${version.versionNumber} launches ${version.imageId}`);
  let encryption: Awaited<ReturnType<typeof amiEncryption>>;
  try {
    encryption = await amiEncryption(version.imageId, {
      target: clients.ec2,
      targetAccountId: accountId,
      owner: clients.owner,
    });
  } catch (error) {
    return broken(
      "ami-unavailable",
      `${version.imageId} or its snapshots cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      "share the AMI (and, for a copy, its snapshots) with this account again, or point the template at an available AMI",
    );
  }
  chain.push(
    encryption.keyArns.length > 0
      ? `${version.imageId} (owner ${encryption.ownerId}) has snapshots encrypted with ${encryption.keyArns.join(", ")}`
      : `${version.imageId} (owner ${encryption.ownerId}) has no encrypted snapshot`,
  );

  const brokenWithTags = (...args: Parameters<typeof broken>) => ({
    ...broken(...args),
    groupTags,
  });
  const missing: GrantRequest[] = [];
  for (const keyArn of encryption.keyArns) {
    const keyAccount = parseKeyArn(keyArn)?.accountId;
    let metadata: KeyMetadata | undefined;
    try {
      ({ KeyMetadata: metadata } = await clients.kms.send(
        new DescribeKeyCommand({ KeyId: keyArn }),
      ));
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      return broken(
        "key-policy",
        `account ${accountId} may not use key ${keyArn} (DescribeKey refused: ${reasonOf(error)}): the key policy in ${keyAccount} no longer allows this account, so no grant can work`,
        `restore the key policy statement that allows account ${accountId} kms:DescribeKey and kms:CreateGrant (no kms:GrantIsForAWSResource condition), and kms:ListGrants for this diagnosis`,
        keyUrl(keyArn),
      );
    }
    const state = metadata?.KeyState;
    if (state === "Disabled")
      return broken(
        "key-disabled",
        `key ${keyArn}, which encrypts ${version.imageId}'s snapshots, is disabled`,
        `enable the key in account ${keyAccount} (EnableKey)`,
        keyUrl(keyArn),
      );
    if (state === "PendingDeletion")
      return broken(
        "key-pending-deletion",
        `key ${keyArn}, which encrypts ${version.imageId}'s snapshots, is pending deletion`,
        `cancel its deletion in account ${keyAccount} (CancelKeyDeletion, then EnableKey) before the waiting period ends: afterwards the AMI can never launch again`,
        keyUrl(keyArn),
      );
    if (state && state !== "Enabled")
      return broken(
        "key-disabled",
        `key ${keyArn} is ${state}`,
        "make the key usable (Enabled) again",
        keyUrl(keyArn),
      );
    chain.push(`key ${keyArn} is Enabled`);
    if (metadata?.KeyManager === "AWS") {
      if (keyAccount !== accountId)
        return broken(
          "key-not-shareable",
          `key ${keyArn} is an AWS managed key of account ${keyAccount}: it cannot be used from ${accountId}`,
          "re-encrypt the AMI's snapshots with a customer managed key shared with this account (or copy the AMI with such a key)",
          keyUrl(keyArn),
        );
      continue;
    }
    let granted: boolean;
    try {
      granted = (await findGrant(clients.kms, keyArn, grantee)) !== undefined;
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      return broken(
        "key-policy",
        `grants on key ${keyArn} cannot be listed from account ${accountId} (${reasonOf(error)}): whether ${grantee} has one is unknown`,
        `allow account ${accountId} kms:ListGrants in the key policy in ${keyAccount}, and in the target role (templates/target-account-role.yml)`,
        keyUrl(keyArn),
      );
    }
    if (granted) chain.push(`${grantee} has a grant with the 8 operations on ${keyArn}`);
    else missing.push({ keyArn, granteePrincipal: grantee });
  }
  if (missing.length > 0)
    return brokenWithTags(
      "missing-grant",
      `the group's service-linked role ${grantee} has no grant on ${missing.map((grant) => grant.keyArn).join(", ")}: EBS cannot decrypt the AMI's snapshots, so every launch fails`,
      `create the grant in account ${accountId} (aws kms create-grant --key-id <key ARN> --grantee-principal ${grantee} --operations ${AUTO_SCALING_GRANT_OPERATIONS.join(" ")})`,
      keyUrl(missing[0]?.keyArn ?? ""),
      missing,
    );
  return {
    groupTags,
    cause: "chain-intact",
    explanation:
      "every link is intact (template version, AMI, snapshots, enabled keys, grants for the service-linked role): a grant created in the last few minutes may not have propagated yet; otherwise the cause is not one we can see",
    consoleUrl: activity,
    chain,
    missingGrants: [],
  };
};

export const diagnoseLaunchFailure = async (
  event: LaunchUnsuccessfulEvent,
  clients: DiagnoseClients,
): Promise<LaunchFailureDiagnosis> => {
  const statusMessage = event.statusMessage;
  const recognised = recogniseCause(statusMessage, event.cause);
  if (recognised === undefined)
    return {
      cause: "unknown",
      explanation: statusMessage || event.cause || "Auto Scaling gave no reason",
      consoleUrl: groupActivityUrl(event.region, event.autoScalingGroupName),
      chain: [],
      missingGrants: [],
      statusMessage,
    };
  if (recognised === "client-internal-error")
    return { ...(await followKeyChain(event, clients)), statusMessage };
  return {
    cause: recognised,
    ...explainRecognised(recognised, event),
    chain: [],
    missingGrants: [],
    statusMessage,
  };
};
