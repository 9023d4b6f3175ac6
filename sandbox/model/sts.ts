import { sandboxAccessKeyId } from "../identity.ts";
import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** A role in a target account that the orchestrator may assume (templates/target-account-role.yml). */
export interface AssumableRole {
  readonly accountId: string;
  readonly roleName: string;
  /** The role's MaxSessionDuration in seconds (IAM default 3600). */
  readonly maxSessionDuration?: number;
}

/** A session AssumeRole issued: its access key identifies the role, the session and its expiry. */
export interface AssumedSession {
  readonly accessKeyId: string;
  readonly accountId: string;
  readonly roleArn: string;
  readonly sessionName: string;
  readonly expiration: number;
}

/**
 * STS. Whether a caller may assume a role (its trust policy: principal, ExternalId) is decided by
 * the sandbox's IAM (sandbox/iam/), from templates/target-account-role.yml; here, the session:
 * credentials whose access key the sandbox maps back to the assumed role and its expiry.
 */
export class StsModel {
  readonly roles = new Map<string, AssumableRole>();
  /** Issued sessions by access key id. */
  readonly sessions = new Map<string, AssumedSession>();

  constructor(private readonly clock: SimClock) {}

  /**
   * Ends every session issued so far, now: what the caller sees when its credentials outlived
   * their session by AWS's clock (a skewed clock, a container frozen past the hour). Calls with
   * them are refused as expired (sandbox/iam/).
   */
  expireSessions(): void {
    const now = this.clock.now();
    for (const [key, session] of this.sessions)
      this.sessions.set(key, { ...session, expiration: Math.min(session.expiration, now) });
  }

  addRole(role: AssumableRole): void {
    this.roles.set(`arn:aws:iam::${role.accountId}:role/${role.roleName}`, role);
  }

  readonly operations = {
    AssumeRole: (call: CallContext) => {
      const arn = String(call.input.RoleArn);
      const role = this.roles.get(arn);
      // A role that does not exist is refused like one that does not trust the caller.
      if (!role) {
        throw awsError(
          "AccessDenied",
          `User: arn:aws:sts::${call.accountId}:assumed-role/caller is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
          403,
        );
      }
      const seconds = Number(call.input.DurationSeconds ?? 3600);
      // STS API reference, AssumeRole DurationSeconds: up to the role's maximum session duration.
      if (seconds > (role.maxSessionDuration ?? 3600)) {
        throw awsError(
          "ValidationError",
          `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
        );
      }
      const sessionName = String(call.input.RoleSessionName);
      const accessKeyId = sandboxAccessKeyId(
        role.accountId,
        `S${(this.sessions.size + 1).toString(36).toUpperCase()}`,
      );
      const expiration = this.clock.now() + seconds * 1000;
      this.sessions.set(accessKeyId, {
        accessKeyId,
        accountId: role.accountId,
        roleArn: arn,
        sessionName,
        expiration,
      });
      return {
        Credentials: {
          AccessKeyId: accessKeyId,
          SecretAccessKey: "sandbox-assumed-secret",
          SessionToken: "sandbox-assumed-session",
          Expiration: new Date(expiration),
        },
        AssumedRoleUser: {
          AssumedRoleId: `AROASANDBOX:${sessionName}`,
          Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${sessionName}`,
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
