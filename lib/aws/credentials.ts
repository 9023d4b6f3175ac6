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

/** Errors meaning "these credentials are no longer valid": drop them and assume the role again. */
const EXPIRED_CREDENTIALS = new Set([
  // JSON services (KMS, DynamoDB, ...) and query services (STS, IAM, Auto Scaling, EC2).
  "ExpiredTokenException",
  "ExpiredToken",
  "RequestExpired",
]);

export const isExpiredCredentialsError = (error: unknown): boolean =>
  error instanceof Error && EXPIRED_CREDENTIALS.has(error.name);

interface CachedCredentials {
  readonly pending: Promise<AwsCredentialIdentity & { expiration: Date }>;
  /** By our own clock: when to assume again. */
  readonly refreshAt: number;
}

/**
 * Cross-account credentials, one AssumeRole per target role, reused across invocations of a warm
 * container until `refreshMarginMs` before they expire. A failed attempt is not cached, so the
 * next call tries again. Sessions last one hour: Lambda's own role session makes this role
 * chaining, which AWS caps at one hour.
 *
 * Expiry is measured on our own clock from the moment we asked (a session lasts exactly
 * `DurationSeconds` from issue), never by comparing STS's `Expiration` with our clock: with a
 * skewed clock that comparison makes every request look expired and assume the role again.
 */
export class AssumedRoleCredentials {
  readonly #sts: STSClient;
  readonly #clock: Clock;
  readonly #refreshMarginMs: number;
  readonly #durationSeconds: number;
  readonly #cache = new Map<string, CachedCredentials>();

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
    const key = cacheKey(role);
    const cached = this.#cache.get(key);
    if (cached && cached.refreshAt > this.#clock.now()) {
      const credentials = await cached.pending.catch(() => undefined);
      if (credentials) return credentials;
      if (this.#cache.get(key) !== cached) return this.get(role, sessionLabel);
    }
    const requestedAt = this.#clock.now();
    const pending = this.#assume(role, sessionLabel, requestedAt);
    const entry: CachedCredentials = {
      pending,
      refreshAt: requestedAt + this.#durationSeconds * 1000 - this.#refreshMarginMs,
    };
    this.#cache.set(key, entry);
    pending.catch(() => {
      if (this.#cache.get(key) === entry) this.#cache.delete(key);
    });
    return pending;
  }

  /**
   * Forgets the role's credentials after AWS refused them as expired, so the next call assumes
   * the role again. The SDK memoizes an identity until its `expiration`: the refused one is
   * marked expired too, or the SDK would keep signing with it.
   */
  async invalidate(role: TargetRole): Promise<void> {
    const key = cacheKey(role);
    const cached = this.#cache.get(key);
    if (!cached) return;
    this.#cache.delete(key);
    const credentials = await cached.pending.catch(() => undefined);
    if (credentials) credentials.expiration = new Date(0);
  }

  async #assume(
    role: TargetRole,
    sessionLabel: string,
    requestedAt: number,
  ): Promise<AwsCredentialIdentity & { expiration: Date }> {
    const roleArn = targetRoleArn(role);
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
        // Our clock's view of the expiry, which the SDK compares with our clock too.
        expiration: new Date(requestedAt + this.#durationSeconds * 1000),
        accountId: role.accountId,
      };
    } catch (error) {
      throw new TargetAccountUnreachableError(role.accountId, roleArn, error);
    }
  }
}

const cacheKey = (role: TargetRole): string => `${targetRoleArn(role)}|${role.externalId}`;

type MiddlewareStackHolder = {
  middlewareStack: {
    add: (
      middleware: (
        next: (args: unknown) => Promise<unknown>,
      ) => (args: unknown) => Promise<unknown>,
      options: { step: "initialize"; name: string },
    ) => void;
  };
};

/**
 * Retries a call once with newly assumed credentials when AWS says the ones it was signed with
 * expired (a container frozen past the session's end, a clock that drifted). Added at the
 * `initialize` step, before the SDK resolves the identity, so the retry is signed anew.
 */
export const reassumeOnExpiredCredentials = <C>(
  client: C,
  credentials: AssumedRoleCredentials,
  role: TargetRole,
): C => {
  (client as unknown as MiddlewareStackHolder).middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if (!isExpiredCredentialsError(error)) throw error;
        await credentials.invalidate(role);
        return next(args);
      }
    },
    { step: "initialize", name: "reassumeOnExpiredCredentials" },
  );
  return client;
};
