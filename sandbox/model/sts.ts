import { sandboxAccessKeyId } from "../identity.ts";
import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** A role in a target account that the orchestrator may assume (templates/target-account-role.yml). */
export interface AssumableRole {
  readonly accountId: string;
  readonly roleName: string;
  readonly externalId: string;
  /** The account whose principals the trust policy allows. */
  readonly trustedAccountId: string;
}

/** STS: AssumeRole checks the trust policy (trusted account, ExternalId) like AWS does. */
export class StsModel {
  readonly roles = new Map<string, AssumableRole>();

  constructor(private readonly clock: SimClock) {}

  addRole(role: AssumableRole): void {
    this.roles.set(`arn:aws:iam::${role.accountId}:role/${role.roleName}`, role);
  }

  readonly operations = {
    AssumeRole: (call: CallContext) => {
      const arn = String(call.input.RoleArn);
      const role = this.roles.get(arn);
      if (
        !role ||
        role.trustedAccountId !== call.accountId ||
        role.externalId !== call.input.ExternalId
      ) {
        throw awsError(
          "AccessDenied",
          `User: arn:aws:sts::${call.accountId}:assumed-role/ami-orchestrator/roll-out-target is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
          403,
        );
      }
      const seconds = Number(call.input.DurationSeconds ?? 3600);
      return {
        Credentials: {
          AccessKeyId: sandboxAccessKeyId(role.accountId, "ROLE"),
          SecretAccessKey: "sandbox-assumed-secret",
          SessionToken: "sandbox-assumed-session",
          Expiration: new Date(this.clock.now() + seconds * 1000),
        },
        AssumedRoleUser: {
          AssumedRoleId: `AROASANDBOX:${String(call.input.RoleSessionName)}`,
          Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${String(call.input.RoleSessionName)}`,
        },
      };
    },
    GetCallerIdentity: (call: CallContext) => ({
      Account: call.accountId,
      Arn: `arn:aws:sts::${call.accountId}:assumed-role/sandbox/sandbox`,
      UserId: "AROASANDBOX:sandbox",
    }),
  };
}
