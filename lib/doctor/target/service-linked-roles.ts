import { GetRoleCommand } from "@aws-sdk/client-iam";
import { type DiscoveredGroup, defaultServiceLinkedRoleArn } from "../../auto-scaling/groups.ts";
import { errorMessage, errorName } from "../../errors.ts";
import { type DoctorCheck, fail, pass } from "../report.ts";
import type { TargetContext } from "./context.ts";
import { fix } from "./fixes.ts";

/** Each group's service-linked role (or the account's default one) exists. */
export const checkServiceLinkedRoles = async (
  { iam, accountId }: TargetContext,
  groups: readonly DiscoveredGroup[],
): Promise<{ checks: DoctorCheck[]; roles: string[] }> => {
  const checks: DoctorCheck[] = [];
  /** The roles a grant can be checked for: a missing one is reported here, not again per key. */
  const existing: string[] = [];
  const roles = [
    ...new Set(
      groups.map((group) => group.serviceLinkedRoleArn ?? defaultServiceLinkedRoleArn(accountId)),
    ),
  ];
  for (const roleArn of roles) {
    const roleName = roleArn.split("/").at(-1) ?? roleArn;
    try {
      await iam.send(new GetRoleCommand({ RoleName: roleName }));
      checks.push(pass(`service-linked role ${roleName}`, "exists"));
      existing.push(roleArn);
    } catch (error) {
      if (errorName(error) !== "NoSuchEntityException") existing.push(roleArn);
      checks.push(
        errorName(error) === "NoSuchEntityException"
          ? fail(
              `service-linked role ${roleName}`,
              `${roleArn} does not exist: grants to it fail and the groups cannot launch`,
              fix.createServiceLinkedRole(accountId, roleName),
            )
          : fail(`service-linked role ${roleName}`, errorMessage(error), fix.readServiceLinkedRole),
      );
    }
  }
  return { checks, roles: existing };
};
