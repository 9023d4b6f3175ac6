import { parseKeyArn } from "../../kms/grants.ts";
import { targetAccountKeyStatement } from "../../kms/key-policy.ts";
import {
  GROUP_ACTIONS,
  type SimulatedRequest,
  TARGET_ROLE_STATEMENTS,
} from "../launch-permissions.ts";
import { MANAGED_TAG } from "./context.ts";
import { refusedOutsideTheStack } from "./simulation.ts";

/**
 * What to do about each ✗ of a target's checks, in one place: the commands to run and the
 * statements to add. The key-policy statement is the one `lib/kms/grants.ts` states
 * (`targetAccountKeyStatement`), and the target role's statements those of
 * `lib/doctor/launch-permissions.ts` (`TARGET_ROLE_STATEMENTS`): never a copy.
 */

const updateTargetStack = (accountId: string) =>
  `update the target stack in ${accountId} (templates/target-account-role.yml, statements DoctorReadsItsOwnPermissions and DoctorReadsInstanceProfiles: iam:SimulatePrincipalPolicy on the role itself, iam:GetInstanceProfile)`;

/** Which layer refuses, as far as the simulation says, and what to change there. */
const outsideTheStack = (refused: readonly SimulatedRequest[], roleArn: string): string => {
  const denied = refused.filter(refusedOutsideTheStack);
  const actions = [...new Set(denied.map((request) => request.action))].join(", ");
  const layers = [...new Set(denied.flatMap((request) => request.deniedBy ?? []))];
  const missing = [...new Set(denied.flatMap((request) => request.missingContext))];
  return `${layers.length > 0 ? layers.join(" and ") : "a policy outside the target stack (or its permissions boundary, or an SCP)"} does not allow ${actions} to ${roleArn}: allow it there${missing.length > 0 ? ` (its conditions test ${missing.join(", ")}, which the simulation could not be given: check them by hand)` : ""}`;
};

const tagGroup = (accountId: string, region: string, groupName: string) =>
  `in account ${accountId}: aws autoscaling create-or-update-tags --region ${region} --tags ResourceId=${groupName},ResourceType=auto-scaling-group,Key=${MANAGED_TAG},Value=true,PropagateAtLaunch=false`;

/** The key policy's statement for the target account, as `lib/kms/grants.ts` states it. */
const keyPolicy = (keyArn: string, keyAccount: string, accountId: string) =>
  `add to the key policy of ${keyArn} (account ${keyAccount}): ${targetAccountKeyStatement(accountId, parseKeyArn(keyArn)?.partition)}; and list the key in the target stack's KmsKeyArns`;

export const fix = {
  /** A step threw what nobody expected. */
  stepFailed: "see the error: the step could not finish",

  // 1. The role.
  assumeRole: (accountId: string, roleName: string, accountAlias: string) =>
    `deploy templates/target-account-role.yml in ${accountId} with RoleName=${roleName}, OrchestratorAccountId set to this account, the deployed stage, and ExternalId equal to accounts.${accountAlias}.externalId`,
  /** The role lacks the doctor's own read permissions (an older target stack). */
  updateTargetStack,
  outsideTheStack,

  // 2. The groups.
  describeGroups: "allow autoscaling:DescribeAutoScalingGroups",
  tagGroup,
  /** Untagged, and whether the role requires the tag could not be simulated. */
  tagGroupOrUpdateStack: (accountId: string, region: string, groupName: string) =>
    `${tagGroup(accountId, region, groupName)} (or ${updateTargetStack(accountId)}, and run the doctor again)`,
  groupActions: (accountId: string) =>
    `${updateTargetStack(accountId)}: its statement InstanceRefreshes allows ${GROUP_ACTIONS.join(", ")} on the account's groups`,
  useLaunchTemplate:
    "use a launch template (aws autoscaling update-auto-scaling-group --launch-template ...), or leave the group out of the selection",
  missingGroup: (pipelineName: string) =>
    `create it, or remove it from pipelines[${pipelineName}].rollout.autoScalingGroups.names`,
  noGroups: (selectorTags: Readonly<Record<string, string>>, region: string) =>
    `tag the groups ${Object.entries(selectorTags)
      .map(([key, value]) => `${key}=${value}`)
      .join(", ")}, or remove ${region} from the wave`,

  // Service-linked roles.
  /** Custom suffixes may contain underscores themselves (IAM API model, CustomSuffix). */
  createServiceLinkedRole: (accountId: string, roleName: string) => {
    const suffix = roleName.includes("_") ? roleName.slice(roleName.indexOf("_") + 1) : "";
    return `in account ${accountId}: aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com${suffix ? ` --custom-suffix ${suffix}` : ""}`;
  },
  readServiceLinkedRole: "allow iam:GetRole on it",

  // 3. The AMI.
  distributeAmi: (accountId: string, pipelineName: string, region: string) =>
    `add ${accountId} to the distribution configuration of ${pipelineName} in ${region} (targetAccountIds, or a launchPermission)`,
  readAmi:
    "check the distribution configuration (the AMI must be copied to, or shared with, this account)",

  // The grants.
  keyPolicy,
  listGrants: (keyArn: string, keyAccount: string, accountId: string) =>
    `allow account ${accountId} kms:ListGrants in the key policy of ${keyArn} (account ${keyAccount}): ${targetAccountKeyStatement(accountId, parseKeyArn(keyArn)?.partition)}; the target stack's role allows it on its KmsKeyArns (update the stack if it predates it)`,
  /**
   * What brings a key back to Enabled, by its state (KMS API model, KeyState; CancelKeyDeletion
   * leaves a key Disabled), run in the key's account and region: the CLI would otherwise send a
   * key ARN to its default region, which answers NotFoundException.
   */
  keyState: (state: string, keyArn: string, keyRegion: string, keyAccount: string) => {
    const kms = (command: string) => `aws kms ${command} --region ${keyRegion} --key-id ${keyArn}`;
    const restore: Record<string, string> = {
      Disabled: kms("enable-key"),
      PendingDeletion: `${kms("cancel-key-deletion")} && ${kms("enable-key")}`,
      PendingImport: `import the key material (${kms("get-parameters-for-import")}, then aws kms import-key-material)`,
      Unavailable: "reconnect its custom key store (aws kms connect-custom-key-store)",
    };
    return `in account ${keyAccount}: ${restore[state] ?? `wait until the key is Enabled (it is ${state})`}`;
  },
  /** CreateGrant with DryRun answered a plain success: a grant may exist now. */
  checkGrants: (keyArn: string, keyRegion: string) =>
    `check the grants on ${keyArn} (aws kms list-grants --region ${keyRegion} --key-id ${keyArn})`,

  // 4. The launch templates.
  /** CreateLaunchTemplateVersion with DryRun answered a plain success: a version may exist now. */
  checkVersions: (templateId: string, region: string) =>
    `check the versions of ${templateId} (aws ec2 describe-launch-template-versions --region ${region} --launch-template-id ${templateId})`,
  tagTemplate: (accountId: string, region: string, templateId: string | undefined) =>
    `if the template is not tagged ${MANAGED_TAG}=true, in account ${accountId}: aws ec2 create-tags --region ${region} --resources ${templateId} --tags Key=${MANAGED_TAG},Value=true (or deploy the target stack with RequireManagedTag=false); if it is, the launch check below names what refuses`,
  templateVersion: "point the group at an existing template version",

  // 5. What Auto Scaling checks at the refresh.
  createInstanceProfile: (profileName: string | undefined, accountId: string) =>
    `create the instance profile ${profileName} (with its role) in ${accountId}, or point the template at an existing one`,
  /**
   * For each refused launch request, the statement to add; the stack's own statements are named
   * only for what no other layer refuses.
   */
  launchPermissions: (
    refused: readonly SimulatedRequest[],
    { roleArn, accountId, partition, instanceRoleArn }: LaunchingRole,
  ): string => {
    const actions = new Set(
      refused
        .filter((request) => !refusedOutsideTheStack(request))
        .map((request) => request.action),
    );
    const addTo = (statement: object) =>
      `add to ${roleArn} (policy ami-orchestrator-rollout: update the target stack in ${accountId}): ${JSON.stringify(statement)}`;
    return [
      ...(refused.some(refusedOutsideTheStack) ? [outsideTheStack(refused, roleArn)] : []),
      ...(actions.has("ec2:RunInstances")
        ? [addTo(TARGET_ROLE_STATEMENTS.runInstances(accountId, partition))]
        : []),
      ...(actions.has("iam:PassRole") && instanceRoleArn
        ? [
            `add ${instanceRoleArn} to the target stack's InstanceRoleArns parameter in ${accountId} (statement ${JSON.stringify(TARGET_ROLE_STATEMENTS.passRole(instanceRoleArn))})`,
          ]
        : []),
      ...(actions.has("ec2:CreateTags")
        ? [addTo(TARGET_ROLE_STATEMENTS.createTags(accountId, partition))]
        : []),
    ].join("; ");
  },
} as const;

/** The target role a launch is simulated for, and the instance role it would pass. */
interface LaunchingRole {
  readonly roleArn: string;
  readonly accountId: string;
  readonly partition: string;
  readonly instanceRoleArn: string | undefined;
}
