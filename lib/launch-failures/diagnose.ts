import {
  type AutoScalingClient,
  type AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  DescribeInstanceRefreshesCommand,
  type InstanceRefresh,
} from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, type KeyMetadata, type KMSClient } from "@aws-sdk/client-kms";
import {
  defaultServiceLinkedRoleArn,
  type LaunchTemplateReference,
} from "../auto-scaling/groups.ts";
import type { LaunchUnsuccessfulEvent } from "../events/launch-unsuccessful.ts";
import {
  AUTO_SCALING_GRANT_OPERATIONS,
  findGrant,
  type GrantRequest,
  parseKeyArn,
} from "../kms/grants.ts";
import { targetAccountKeyStatement } from "../kms/key-policy.ts";
import { amiEncryption } from "../kms/snapshot-keys.ts";
import {
  LaunchTemplateError,
  type ResolvedTemplateVersion,
  resolveTemplateVersion,
} from "../launch-templates/versions.ts";
import { type RecognisedCause, recogniseCause } from "./causes.ts";
import { type LaunchSource, launchSources, refreshAt } from "./launch-paths.ts";

/**
 * Why an instance did not launch, found read-only in the target account with the assumed role.
 * For `Client.InternalError` the chain a launch depends on is followed link by link (group, or
 * the instance refresh it was in → launch template version or override → AMI → snapshots → keys
 * → key state and grants for the group's service-linked role) for every AMI the group could have
 * launched, and each broken link is named with its launch path; other recognised messages are
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

/** A broken link on the way from one launch path to its AMI's keys. */
interface BrokenLink {
  readonly cause: DiagnosedCause;
  readonly explanation: string;
  readonly fix: string;
  readonly consoleUrl: string;
  readonly missingGrants: readonly GrantRequest[];
}

/** Each AWS answer is asked for once, however many paths share the template, AMI or key. */
const once = <T>(load: (key: string) => Promise<T>) => {
  const answers = new Map<string, Promise<T>>();
  return (key: string): Promise<T> => {
    let answer = answers.get(key);
    if (!answer) {
      answer = load(key);
      answers.set(key, answer);
    }
    return answer;
  };
};

/** One diagnosis's state: the links followed so far, and the AWS answers its paths share. */
const chainOf = (event: LaunchUnsuccessfulEvent, clients: DiagnoseClients, grantee: string) => {
  const { accountId } = event;
  const chain: string[] = [];
  const activity = groupActivityUrl(event.region, event.autoScalingGroupName);
  return {
    accountId,
    grantee,
    activity,
    chain,
    link: (text: string) => {
      if (!chain.includes(text)) chain.push(text);
    },
    broken: (
      cause: DiagnosedCause,
      explanation: string,
      fix: string,
      consoleUrl = activity,
      missingGrants: readonly GrantRequest[] = [],
    ): BrokenLink => ({ cause, explanation, fix, consoleUrl, missingGrants }),
    versionOf: once((reference: string) =>
      resolveTemplateVersion(clients.ec2, JSON.parse(reference) as LaunchTemplateReference),
    ),
    encryptionOf: once((imageId: string) =>
      amiEncryption(imageId, {
        target: clients.ec2,
        targetAccountId: accountId,
        owner: clients.owner,
      }),
    ),
    keyMetadataOf: once(
      async (keyArn: string) =>
        (await clients.kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata,
    ),
    grantedOn: once(
      async (keyArn: string) => (await findGrant(clients.kms, keyArn, grantee)) !== undefined,
    ),
  };
};
type Chain = ReturnType<typeof chainOf>;

/**
 * The configurations that may have launched: the group's saved one, or the refresh running at
 * the launch (lib/launch-failures/launch-paths.ts). One DescribeInstanceRefreshes, newest first:
 * the refresh running now and the one it may have just followed.
 */
const launchSourcesOf = async (
  event: LaunchUnsuccessfulEvent,
  group: AutoScalingGroup,
  autoScaling: AutoScalingClient,
  chain: Chain,
): Promise<LaunchSource[]> => {
  const name = group.AutoScalingGroupName ?? event.autoScalingGroupName;
  let refreshes: InstanceRefresh[];
  try {
    ({ InstanceRefreshes: refreshes = [] } = await autoScaling.send(
      new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: name, MaxRecords: 2 }),
    ));
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    chain.link(
      `group ${name}'s instance refreshes cannot be listed (${reasonOf(error)}): its saved configuration is followed, though a refresh's would launch instead`,
    );
    return launchSources(group, undefined);
  }
  const launchedAt = Date.parse(event.time);
  const refresh = Number.isNaN(launchedAt) ? undefined : refreshAt(refreshes, launchedAt);
  const sources = launchSources(group, refresh);
  const [first] = sources;
  if (first?.label.startsWith("instance refresh"))
    chain.link(
      `group ${name} was in ${first.label} when the launch failed: it launches the refresh's desired configuration${sources.length > 1 ? ", and its rollback the group's saved one" : ""}`,
    );
  return sources;
};

/** Each path to its AMI; the AMIs keep the paths that launch them, in order. */
const amisOf = async (sources: readonly LaunchSource[], chain: Chain) => {
  const launchedBy = new Map<string, string[]>();
  const findings: BrokenLink[] = [];
  for (const source of sources) {
    for (const path of source.paths) {
      const main = path.via === "launch template" || path.via === "main template";
      const subject = main ? source.label : `${source.label}'s ${path.via}`;
      const where = `${source.label}'s ${path.via}`;
      let imageId: string;
      if ("imageId" in path) {
        imageId = path.imageId;
        chain.link(`${subject} launches ${imageId} (the override's own ImageId)`);
      } else {
        const reference = path.template;
        let version: ResolvedTemplateVersion;
        try {
          version = await chain.versionOf(JSON.stringify(reference));
        } catch (error) {
          if (!(error instanceof LaunchTemplateError) && !/LaunchTemplate/.test(reasonOf(error)))
            throw error;
          findings.push(
            chain.broken(
              "invalid-launch-template",
              `${where}, ${reference.launchTemplateId ?? reference.launchTemplateName} version ${reference.version}, cannot be read (${reasonOf(error)})`,
              `point ${where} at an existing launch template version`,
            ),
          );
          continue;
        }
        chain.link(
          `${subject} launches ${version.launchTemplateName} version ${version.versionNumber} (${reference.version})`,
        );
        if (!version.imageId) {
          findings.push(
            chain.broken(
              "invalid-launch-template",
              `${version.launchTemplateName} version ${version.versionNumber} (${where}) names no AMI`,
              "set ImageId in the launch template",
            ),
          );
          continue;
        }
        imageId = version.imageId;
        chain.link(`version ${version.versionNumber} launches ${imageId}`);
      }
      const paths = launchedBy.get(imageId);
      if (paths) paths.push(where);
      else launchedBy.set(imageId, [where]);
    }
  }
  return { launchedBy, findings };
};

/** Whether the group's role may use one key of an AMI: granted, missing, or a broken link. */
const checkKey = async (
  keyArn: string,
  launched: string,
  chain: Chain,
): Promise<BrokenLink | "granted" | "missing"> => {
  const { accountId, grantee } = chain;
  const keyAccount = parseKeyArn(keyArn)?.accountId;
  let metadata: KeyMetadata | undefined;
  try {
    metadata = await chain.keyMetadataOf(keyArn);
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    return chain.broken(
      "key-policy",
      `account ${accountId} may not use key ${keyArn}, which encrypts ${launched} (DescribeKey refused: ${reasonOf(error)}): the key policy in ${keyAccount} no longer allows this account, so no grant can work`,
      `restore the key policy statement for account ${accountId} in ${keyAccount}: ${targetAccountKeyStatement(accountId, parseKeyArn(keyArn)?.partition)}`,
      keyUrl(keyArn),
    );
  }
  const state = metadata?.KeyState;
  if (state === "Disabled")
    return chain.broken(
      "key-disabled",
      `key ${keyArn}, which encrypts ${launched}'s snapshots, is disabled`,
      `enable the key in account ${keyAccount} (EnableKey)`,
      keyUrl(keyArn),
    );
  if (state === "PendingDeletion")
    return chain.broken(
      "key-pending-deletion",
      `key ${keyArn}, which encrypts ${launched}'s snapshots, is pending deletion`,
      `cancel its deletion in account ${keyAccount} (CancelKeyDeletion, then EnableKey) before the waiting period ends: afterwards the AMI can never launch again`,
      keyUrl(keyArn),
    );
  if (state && state !== "Enabled")
    return chain.broken(
      "key-disabled",
      `key ${keyArn}, which encrypts ${launched}'s snapshots, is ${state}`,
      "make the key usable (Enabled) again",
      keyUrl(keyArn),
    );
  chain.link(`key ${keyArn} is Enabled`);
  if (metadata?.KeyManager === "AWS") {
    if (keyAccount === accountId) return "granted";
    return chain.broken(
      "key-not-shareable",
      `key ${keyArn}, which encrypts ${launched}, is an AWS managed key of account ${keyAccount}: it cannot be used from ${accountId}`,
      "re-encrypt the AMI's snapshots with a customer managed key shared with this account (or copy the AMI with such a key)",
      keyUrl(keyArn),
    );
  }
  try {
    if (!(await chain.grantedOn(keyArn))) return "missing";
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    return chain.broken(
      "key-policy",
      `grants on key ${keyArn} cannot be listed from account ${accountId} (${reasonOf(error)}): whether ${grantee} has one is unknown`,
      `allow account ${accountId} kms:ListGrants in the key policy in ${keyAccount}, and in the target role (templates/target-account-role.yml)`,
      keyUrl(keyArn),
    );
  }
  chain.link(`${grantee} has a grant with the 8 operations on ${keyArn}`);
  return "granted";
};

/** The first broken link from one AMI (launched by `paths`) to its keys' grants, if any. */
const checkAmi = async (
  imageId: string,
  paths: readonly string[],
  chain: Chain,
): Promise<BrokenLink | undefined> => {
  const launched = `${imageId} (launched by ${paths.join(", ")})`;
  let encryption: Awaited<ReturnType<typeof amiEncryption>>;
  try {
    encryption = await chain.encryptionOf(imageId);
  } catch (error) {
    return chain.broken(
      "ami-unavailable",
      `${launched} or its snapshots cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      "share the AMI (and, for a copy, its snapshots) with this account again, or point the template at an available AMI",
    );
  }
  chain.link(
    encryption.keyArns.length > 0
      ? `${imageId} (owner ${encryption.ownerId}) has snapshots encrypted with ${encryption.keyArns.join(", ")}`
      : `${imageId} (owner ${encryption.ownerId}) has no encrypted snapshot`,
  );
  const missing: GrantRequest[] = [];
  for (const keyArn of encryption.keyArns) {
    const found = await checkKey(keyArn, launched, chain);
    if (found === "missing") missing.push({ keyArn, granteePrincipal: chain.grantee });
    else if (found !== "granted") return found;
  }
  if (missing.length === 0) return undefined;
  return chain.broken(
    "missing-grant",
    `the group's service-linked role ${chain.grantee} has no grant on ${missing.map((grant) => grant.keyArn).join(", ")}: EBS cannot decrypt the snapshots of ${launched}, so every launch of it fails`,
    `create the grant in account ${chain.accountId} (aws kms create-grant --key-id <key ARN> --grantee-principal ${chain.grantee} --operations ${AUTO_SCALING_GRANT_OPERATIONS.join(" ")})`,
    keyUrl(missing[0]?.keyArn ?? ""),
    missing,
  );
};

/**
 * Follows the chain behind a Client.InternalError, for every AMI the group (or its refresh) can
 * launch, and names each broken link with the launch path it belongs to.
 */
const followKeyChain = async (
  event: LaunchUnsuccessfulEvent,
  clients: DiagnoseClients,
): Promise<Omit<LaunchFailureDiagnosis, "statusMessage">> => {
  const { region, accountId, autoScalingGroupName: groupName } = event;
  const { AutoScalingGroups: groups = [] } = await clients.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const group = groups[0];
  const chain = chainOf(
    event,
    clients,
    group?.ServiceLinkedRoleARN ?? defaultServiceLinkedRoleArn(accountId),
  );
  if (!group)
    return {
      ...chain.broken(
        "group-gone",
        `group ${groupName} no longer exists in ${accountId}/${region}: nothing left to diagnose`,
        "none needed",
      ),
      chain: chain.chain,
    };
  const groupTags = Object.fromEntries(
    (group.Tags ?? []).flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? ""]] : [])),
  );
  const sources = await launchSourcesOf(event, group, clients.autoScaling, chain);
  if (sources.every((source) => source.paths.length === 0))
    return {
      ...chain.broken(
        "invalid-launch-template",
        `group ${groupName} has no launch template (${group.LaunchConfigurationName ? `launch configuration ${group.LaunchConfigurationName}` : "none"}): its key chain cannot be followed`,
        "migrate the group to a launch template",
      ),
      chain: chain.chain,
      groupTags,
    };
  const { launchedBy, findings } = await amisOf(sources, chain);
  for (const [imageId, paths] of launchedBy) {
    const finding = await checkAmi(imageId, paths, chain);
    if (finding) findings.push(finding);
  }

  // The event does not say which path failed: a missing grant leads (it can be healed, and that
  // path fails until it is), every other broken link is named after it.
  const lead = findings.find((finding) => finding.cause === "missing-grant") ?? findings[0];
  if (!lead)
    return {
      groupTags,
      cause: "chain-intact",
      explanation:
        "every link is intact (template version, AMI, snapshots, enabled keys, grants for the service-linked role): a grant created in the last few minutes may not have propagated yet; otherwise the cause is not one we can see",
      consoleUrl: chain.activity,
      chain: chain.chain,
      missingGrants: [],
    };
  const others = findings.filter((finding) => finding !== lead);
  return {
    ...lead,
    explanation: [lead, ...others].map((finding) => finding.explanation).join("; also, "),
    missingGrants: [
      ...new Map(
        findings.flatMap((finding) => finding.missingGrants).map((grant) => [grant.keyArn, grant]),
      ).values(),
    ],
    chain: chain.chain,
    groupTags,
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
