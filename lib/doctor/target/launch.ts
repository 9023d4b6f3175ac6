import type { IAMClient } from "@aws-sdk/client-iam";
import { errorMessage, errorName } from "../../errors.ts";
import { isAccessDenied } from "../../kms/grants.ts";
import {
  instanceProfileRole,
  type LaunchedTemplate,
  launchRequests,
} from "../launch-permissions.ts";
import { type DoctorCheck, fail, pass } from "../report.ts";
import { fix } from "./fixes.ts";
import { refusedText, simulated, untestedKeys } from "./simulation.ts";

/**
 * 5. What Auto Scaling checks on the role when the refresh names the new version, for one
 * template: RunInstances, PassRole for the instance profile's role, CreateTags for the tag
 * specifications. One line, ✗ with the statement to add for each refused request.
 */
export const checkLaunchPermissions = async (
  iam: IAMClient,
  roleArn: string,
  template: Omit<LaunchedTemplate, "instanceRoleArn">,
): Promise<DoctorCheck> => {
  const label = `launch ${template.launchTemplateId}`;
  const { accountId, partition } = template;
  const profile = template.data.IamInstanceProfile;
  let instanceRoleArn: string | undefined;
  if (profile?.Arn || profile?.Name) {
    const name = profile.Name ?? profile.Arn?.split("/").at(-1);
    try {
      instanceRoleArn = await instanceProfileRole(iam, profile);
    } catch (error) {
      if (errorName(error) === "NoSuchEntityException")
        return fail(
          label,
          `the template's instance profile ${name} does not exist: every launch from it fails`,
          fix.createInstanceProfile(name, accountId),
        );
      if (isAccessDenied(error))
        return fail(
          label,
          `could not be checked: the role may not read instance profile ${name} (${errorMessage(error)})`,
          fix.updateTargetStack(accountId),
        );
      throw error;
    }
  }
  const requests = launchRequests({
    ...template,
    ...(instanceRoleArn ? { instanceRoleArn } : {}),
  });
  const simulation = await simulated(iam, roleArn, requests);
  if ("unavailable" in simulation)
    return fail(
      label,
      `could not be checked (ec2:RunInstances, iam:PassRole, ec2:CreateTags, which Auto Scaling checks when the refresh starts): ${simulation.unavailable}`,
      fix.updateTargetStack(accountId),
    );
  const refused = simulation.results.filter((request) => request.decision !== "allowed");
  const tagged = [
    ...new Set((template.data.TagSpecifications ?? []).map((spec) => spec.ResourceType)),
  ];
  if (refused.length === 0)
    return pass(
      label,
      `ec2:RunInstances${instanceRoleArn ? `, iam:PassRole ${instanceRoleArn}` : ""}${tagged.length > 0 ? `, ec2:CreateTags at launch (${tagged.join(", ")})` : ""} allowed to ${roleArn} (SimulatePrincipalPolicy)${untestedKeys(simulation.results)}`,
    );
  return fail(
    label,
    `Auto Scaling would refuse StartInstanceRefresh and UpdateAutoScalingGroup with this template: ${roleArn} may not ${refusedText(refused)}`,
    fix.launchPermissions(refused, { roleArn, accountId, partition, instanceRoleArn }),
  );
};
