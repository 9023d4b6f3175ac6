import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { OrchestratorError } from "../errors.ts";
import type { Clock } from "./clock.ts";

/** AssumeRole into a target account failed: wrong trust policy, ExternalId or role name. */
export class TargetAccountUnreachableError extends OrchestratorError {
  readonly accountId: string;
  readonly roleArn: string;

  constructor(accountId: string, roleArn: string, cause: unknown) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const denied = cause instanceof Error && /AccessDenied/.test(cause.name);
    super(
      `cannot assume ${roleArn} in account ${accountId}: ${reason}${denied ? " (check that templates/target-account-role.yml is deployed there, trusts the orchestrator account and uses the configured externalId)" : ""}`,
      { cause, retryable: !denied },
    );
    this.accountId = accountId;
    this.roleArn = roleArn;
  }
}

export interface TargetRole {
  readonly accountId: string;
  readonly roleName: string;
  readonly externalId: string;
  readonly partition?: string;
}

export const targetRoleArn = (role: TargetRole): string =>
  `arn:${role.partition ?? "aws"}:iam::${role.accountId}:role/${role.roleName}`;

/** RoleSessionName allows 2-64 of `[\w+=,.@-]`: keep what is allowed, cut the rest. */
export const roleSessionName = (label: string): string => {
  const cleaned = `ami-orchestrator-${label}`.replace(/[^\w+=,.@-]/g, "-").slice(0, 64);
  return cleaned.length >= 2 ? cleaned : "ami-orchestrator";
};

/**
 * Cross-account credentials, one AssumeRole per target role, reused across invocations of a warm
 * container until `refreshMarginMs` before they expire. A failed attempt is not cached, so the
 * next call tries again. Sessions last one hour: Lambda's own role session makes this role
 * chaining, which AWS caps at one hour.
 */
export class AssumedRoleCredentials {
  readonly #sts: STSClient;
  readonly #clock: Clock;
  readonly #refreshMarginMs: number;
  readonly #durationSeconds: number;
  readonly #cache = new Map<string, Promise<AwsCredentialIdentity>>();

  constructor(options: {
    sts: STSClient;
    clock: Clock;
    refreshMarginMs?: number;
    durationSeconds?: number;
  }) {
    this.#sts = options.sts;
    this.#clock = options.clock;
    this.#refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.#durationSeconds = options.durationSeconds ?? 3600;
  }

  /** A provider for SDK clients: `new EC2Client({ credentials: cache.provider(role, label) })`. */
  provider(role: TargetRole, sessionLabel: string): AwsCredentialIdentityProvider {
    return () => this.get(role, sessionLabel);
  }

  async get(role: TargetRole, sessionLabel: string): Promise<AwsCredentialIdentity> {
    const roleArn = targetRoleArn(role);
    const key = `${roleArn}|${role.externalId}`;
    const cached = this.#cache.get(key);
    if (cached) {
      const credentials = await cached.catch(() => undefined);
      const expiration = credentials?.expiration?.getTime() ?? 0;
      if (credentials && expiration - this.#refreshMarginMs > this.#clock.now()) return credentials;
      if (this.#cache.get(key) !== cached) return this.get(role, sessionLabel);
    }
    const pending = this.#assume(role, roleArn, sessionLabel);
    this.#cache.set(key, pending);
    pending.catch(() => {
      if (this.#cache.get(key) === pending) this.#cache.delete(key);
    });
    return pending;
  }

  async #assume(
    role: TargetRole,
    roleArn: string,
    sessionLabel: string,
  ): Promise<AwsCredentialIdentity> {
    try {
      const { Credentials: credentials } = await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: roleSessionName(sessionLabel),
          ExternalId: role.externalId,
          DurationSeconds: this.#durationSeconds,
        }),
      );
      if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
        throw new Error("AssumeRole returned no credentials");
      }
      return {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        ...(credentials.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
        ...(credentials.Expiration ? { expiration: new Date(credentials.Expiration) } : {}),
        accountId: role.accountId,
      };
    } catch (error) {
      throw new TargetAccountUnreachableError(role.accountId, roleArn, error);
    }
  }
}
