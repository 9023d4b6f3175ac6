import { createHash } from "node:crypto";
import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

export interface SandboxKey {
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly manager: "CUSTOMER" | "AWS";
  state: "Enabled" | "Disabled" | "PendingDeletion";
  /** Accounts the key policy allows kms:CreateGrant, kms:DescribeKey and kms:ListGrants (besides the owner). */
  readonly allowedAccounts: Set<string>;
}

export interface SandboxGrant {
  readonly grantId: string;
  readonly keyArn: string;
  readonly name?: string;
  readonly granteePrincipal: string;
  readonly operations: readonly string[];
  readonly createdBy: string;
  readonly createdAt: number;
}

/** KMS resource quota "Grants for a KMS key" (default, adjustable). */
export const GRANTS_PER_KEY = 50_000;

/** The operations a key must grant an Auto Scaling SLR for it to launch encrypted volumes. */
const LAUNCH_OPERATIONS = [
  "Decrypt",
  "GenerateDataKeyWithoutPlaintext",
  "ReEncryptFrom",
  "ReEncryptTo",
  "CreateGrant",
  "DescribeKey",
];

/**
 * KMS keys with their key policies and grants. CreateGrant enforces what bites in production:
 * a cross-account caller must name the key by ARN and be allowed by the key policy; the same
 * Name and parameters return the same grant; a grant is usable only after it propagated.
 */
export class KmsModel {
  readonly keys = new Map<string, SandboxKey>();
  readonly grants: SandboxGrant[] = [];
  /** How long a new grant takes to reach other services (AWS: up to about 5 minutes). */
  propagationMs = 60_000;
  /** Grants ever created: a grant created again (after a revoke) gets a new GrantId. */
  #created = 0;

  constructor(
    private readonly clock: SimClock,
    /** Whether KMS sees a principal yet (IAM is eventually consistent); all, unless given. */
    private readonly principals: { visibleToServices(arn: string, at: number): boolean } = {
      visibleToServices: () => true,
    },
  ) {}

  addKey(
    key: Omit<SandboxKey, "state" | "allowedAccounts"> & { allowedAccounts?: string[] },
  ): SandboxKey {
    const created: SandboxKey = {
      ...key,
      state: "Enabled",
      allowedAccounts: new Set(key.allowedAccounts ?? []),
    };
    this.keys.set(key.arn, created);
    return created;
  }

  static keyArn(accountId: string, region: string, label: string): string {
    const id = createHash("sha256").update(`${accountId}${region}${label}`).digest("hex");
    return `arn:aws:kms:${region}:${accountId}:key/${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`;
  }

  /** Whether `grantee` can use the key to launch instances at time `at` (a propagated grant). */
  usableBy(keyArn: string, grantee: string, at: number): boolean {
    const key = this.keys.get(keyArn);
    if (key?.state !== "Enabled") return false;
    if (key.manager === "AWS") return grantee.includes(`::${key.accountId}:`);
    return this.grants.some(
      (grant) =>
        grant.keyArn === keyArn &&
        grant.granteePrincipal === grantee &&
        LAUNCH_OPERATIONS.every((operation) => grant.operations.includes(operation)) &&
        grant.createdAt + this.propagationMs <= at,
    );
  }

  /** Someone revokes grants (RevokeGrant in the key's account): the scenario's "a month later". */
  revokeGrants(keyArn: string, grantee: string): number {
    const before = this.grants.length;
    for (let index = this.grants.length - 1; index >= 0; index -= 1) {
      const grant = this.grants[index];
      if (grant?.keyArn === keyArn && grant.granteePrincipal === grantee)
        this.grants.splice(index, 1);
    }
    return before - this.grants.length;
  }

  grantsOn(keyArn: string): SandboxGrant[] {
    return this.grants.filter((grant) => grant.keyArn === keyArn);
  }

  #key(call: CallContext, action: string): SandboxKey {
    const keyId = String(call.input.KeyId ?? "");
    const key = keyId.startsWith("arn:")
      ? this.keys.get(keyId)
      : [...this.keys.values()].find(
          (candidate) =>
            candidate.arn.endsWith(`/${keyId}`) &&
            candidate.accountId === call.accountId &&
            candidate.region === call.region,
        );
    if (!key || key.region !== call.region) {
      throw awsError("NotFoundException", `Key '${keyId}' does not exist`);
    }
    if (key.accountId !== call.accountId && !key.allowedAccounts.has(call.accountId)) {
      throw awsError(
        "AccessDeniedException",
        `User: arn:aws:sts::${call.accountId}:assumed-role/ami-orchestrator-target/roll-out-target is not authorized to perform: ${action} on resource: ${key.arn} because no resource-based policy allows the ${action} action`,
      );
    }
    return key;
  }

  readonly operations = {
    DescribeKey: (call: CallContext) => {
      const key = this.#key(call, "kms:DescribeKey");
      return {
        KeyMetadata: {
          Arn: key.arn,
          KeyId: key.arn.split("/").at(-1),
          AWSAccountId: key.accountId,
          KeyManager: key.manager,
          KeyState: key.state,
          Enabled: key.state === "Enabled",
        },
      };
    },
    // KMS API reference, ListGrants: filter by GranteePrincipal (and GrantId), pages of Limit
    // (1-100, default 50) with NextMarker/Truncated; cross-account with the key ARN, allowed by
    // the key policy ("kms:ListGrants (key policy)"). Listed at once: ListGrants is eventually
    // consistent in AWS, but how long it lags is not documented.
    ListGrants: (call: CallContext) => {
      const key = this.#key(call, "kms:ListGrants");
      const grantee = call.input.GranteePrincipal ? String(call.input.GranteePrincipal) : undefined;
      const grantId = call.input.GrantId ? String(call.input.GrantId) : undefined;
      const all = this.grantsOn(key.arn).filter(
        (grant) =>
          (grantee === undefined || grant.granteePrincipal === grantee) &&
          (grantId === undefined || grant.grantId === grantId),
      );
      const limit = Number(call.input.Limit ?? 50);
      const start = Number(call.input.Marker ?? 0);
      const page = all.slice(start, start + limit);
      const truncated = start + limit < all.length;
      return {
        Grants: page.map((grant) => ({
          KeyId: grant.keyArn,
          GrantId: grant.grantId,
          ...(grant.name ? { Name: grant.name } : {}),
          CreationDate: new Date(grant.createdAt),
          GranteePrincipal: grant.granteePrincipal,
          IssuingAccount: `arn:aws:iam::${grant.createdBy}:root`,
          Operations: [...grant.operations],
        })),
        Truncated: truncated,
        ...(truncated ? { NextMarker: String(start + limit) } : {}),
      };
    },
    CreateGrant: (call: CallContext) => {
      const key = this.#key(call, "kms:CreateGrant");
      if (key.manager === "AWS" && key.accountId !== call.accountId) {
        throw awsError(
          "AccessDeniedException",
          "AWS managed keys cannot be used from another account",
        );
      }
      // "DryRunOperationException: The request was rejected because the DryRun parameter was
      // specified" (KMS API reference, CreateGrant, HTTP 412): answered once the request is
      // authorised (key policy above, the caller's IAM policy before the model), nothing created.
      if (call.input.DryRun === true)
        throw awsError(
          "DryRunOperationException",
          "The request would have succeeded, but the DryRun option is set.",
          412,
        );
      const name = call.input.Name ? String(call.input.Name) : undefined;
      const grantee = String(call.input.GranteePrincipal);
      // InvalidArnException, "a specified ARN ... is not valid" (KMS API model), is KMS's answer
      // for a principal it does not know, e.g. "ARN does not refer to a valid principal"
      // (hashicorp/terraform-provider-aws#4633), and a new principal "might not be immediately
      // visible to KMS" (KMS API reference, CreateKey Policy). Modelled for roles created
      // moments ago only: a grantee IAM never heard of is accepted here.
      if (!this.principals.visibleToServices(grantee, this.clock.now()))
        throw awsError(
          "InvalidArnException",
          `ARN does not refer to a valid principal: ${grantee}`,
        );
      const operations = [...((call.input.Operations as string[]) ?? [])].sort();
      const same = name
        ? this.grants.find(
            (grant) =>
              grant.keyArn === key.arn &&
              grant.name === name &&
              grant.granteePrincipal === grantee &&
              grant.operations.join() === operations.join(),
          )
        : undefined;
      if (same) return { GrantId: same.grantId, GrantToken: `token-${same.grantId}` };
      // "Grants for a KMS key: 50,000", customer managed keys; over it, LimitExceededException
      // (KMS developer guide, Resource quotas). There is no per-grantee quota any more.
      if (key.manager === "CUSTOMER" && this.grantsOn(key.arn).length >= GRANTS_PER_KEY)
        throw awsError(
          "LimitExceededException",
          `The key ${key.arn} has reached its quota of ${GRANTS_PER_KEY} grants`,
        );
      // "The unique identifier for the grant" (KMS API model, CreateGrantResponse GrantId): never reused, even
      // for a grant of the same Name created again after a revoke.
      this.#created += 1;
      const grantId = createHash("sha256")
        .update(`${key.arn}|${this.#created}|${grantee}`)
        .digest("hex");
      this.grants.push({
        grantId,
        keyArn: key.arn,
        ...(name ? { name } : {}),
        granteePrincipal: grantee,
        operations,
        createdBy: call.accountId,
        createdAt: this.clock.now(),
      });
      return { GrantId: grantId, GrantToken: `token-${grantId}` };
    },
  };
}
