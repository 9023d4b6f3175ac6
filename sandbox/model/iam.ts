import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

export const AUTO_SCALING_SLR = "AWSServiceRoleForAutoScaling";

export const slrArn = (accountId: string, suffix?: string): string =>
  `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/${AUTO_SCALING_SLR}${suffix ? `_${suffix}` : ""}`;

/** IAM, only the Auto Scaling service-linked roles of each account. */
export class IamModel {
  /** Role names per account. */
  readonly roles = new Map<string, Set<string>>();

  addServiceLinkedRole(accountId: string, suffix?: string): string {
    const roles = this.roles.get(accountId) ?? new Set<string>();
    roles.add(`${AUTO_SCALING_SLR}${suffix ? `_${suffix}` : ""}`);
    this.roles.set(accountId, roles);
    return slrArn(accountId, suffix);
  }

  hasRole(arn: string): boolean {
    const match = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    return Boolean(match && this.roles.get(match[1] as string)?.has(match[2] as string));
  }

  readonly operations = {
    GetRole: (call: CallContext) => {
      const name = String(call.input.RoleName);
      if (!this.roles.get(call.accountId)?.has(name)) {
        throw awsError("NoSuchEntityException", `The role with name ${name} cannot be found.`, 404);
      }
      const path = name.startsWith(AUTO_SCALING_SLR)
        ? "/aws-service-role/autoscaling.amazonaws.com/"
        : "/";
      return {
        Role: {
          RoleName: name,
          Path: path,
          Arn: `arn:aws:iam::${call.accountId}:role${path}${name}`,
          // Required members of the Role shape (IAM API model): a stable id, a creation date.
          RoleId: `AROA${Buffer.from(`${call.accountId}${name}`).toString("hex").slice(0, 17).toUpperCase()}`,
          CreateDate: new Date(0),
        },
      };
    },
    CreateServiceLinkedRole: (call: CallContext) => {
      if (call.input.AWSServiceName !== "autoscaling.amazonaws.com") {
        throw awsError("InvalidInputException", "the sandbox models Auto Scaling's role only");
      }
      const suffix = call.input.CustomSuffix ? String(call.input.CustomSuffix) : undefined;
      const name = `${AUTO_SCALING_SLR}${suffix ? `_${suffix}` : ""}`;
      if (this.roles.get(call.accountId)?.has(name)) {
        throw awsError(
          "InvalidInputException",
          `Service role name ${name} has been taken in this account, please try a different suffix.`,
        );
      }
      return { Role: { RoleName: name, Arn: this.addServiceLinkedRole(call.accountId, suffix) } };
    },
  };
}
