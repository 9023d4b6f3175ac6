import { createHash } from "node:crypto";
import {
  CreateGrantCommand,
  DescribeKeyCommand,
  type GrantListEntry,
  type GrantOperation,
  type KMSClient,
  paginateListGrants,
} from "@aws-sdk/client-kms";
import { OrchestratorError } from "../errors.ts";
import { targetAccountKeyStatement } from "./key-policy.ts";

/**
 * KMS grants that let a target account's Auto Scaling service-linked role use the key that
 * encrypts an AMI's snapshots. Without one, instances launched from the AMI fail with an opaque
 * `Client.InternalError`.
 */

/** Exactly the operations AWS documents for the Auto Scaling service-linked role. */
export const AUTO_SCALING_GRANT_OPERATIONS: readonly GrantOperation[] = [
  "Encrypt",
  "Decrypt",
  "ReEncryptFrom",
  "ReEncryptTo",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "DescribeKey",
  "CreateGrant",
];

/**
 * The grant that gives `grantee` at least the 8 operations on the key, if any (ListGrants filtered
 * by grantee, every page: EBS adds its own grants to a key, so ours may not be on the first).
 * Cross-account, the key policy must allow the caller's account kms:ListGrants (KMS API
 * reference, ListGrants: "Required permissions: kms:ListGrants (key policy)").
 */
export const findGrant = async (
  kms: KMSClient,
  keyArn: string,
  grantee: string,
): Promise<GrantListEntry | undefined> => {
  for await (const page of paginateListGrants(
    { client: kms },
    { KeyId: keyArn, GranteePrincipal: grantee },
  )) {
    const grant = (page.Grants ?? []).find(
      (candidate) =>
        candidate.GranteePrincipal === grantee &&
        AUTO_SCALING_GRANT_OPERATIONS.every((operation) =>
          candidate.Operations?.includes(operation),
        ),
    );
    if (grant) return grant;
  }
  return undefined;
};

const KEY_ARN = /^arn:(aws[\w-]*):kms:([\w-]+):(\d{12}):key\/[\w-]+$/;

export const parseKeyArn = (arn: string) => {
  const match = KEY_ARN.exec(arn);
  return match
    ? { partition: match[1] as string, region: match[2] as string, accountId: match[3] as string }
    : undefined;
};

/**
 * A deterministic grant name per (key, grantee, operations): retrying CreateGrant with the same
 * name and parameters returns the existing grant instead of adding one, so retries and duplicate
 * events never multiply grants (50,000 per key is a hard ceiling). The readable prefix is the
 * grantee role; the hash makes "same name" imply "same parameters".
 */
export const grantName = (keyArn: string, granteePrincipal: string): string => {
  const role = granteePrincipal.split("/").at(-1) ?? "role";
  const digest = createHash("sha256")
    .update([keyArn, granteePrincipal, ...AUTO_SCALING_GRANT_OPERATIONS].join("|"))
    .digest("hex")
    .slice(0, 16);
  return `ami-orchestrator-${role.replace(/[^a-zA-Z0-9:/_-]/g, "-")}-${digest}`;
};

/** CreateGrant or DescribeKey refused: say which key-policy statement is missing, for whom. */
export class GrantRefusedError extends OrchestratorError {
  readonly keyArn: string;
  readonly accountId: string;

  constructor(
    keyArn: string,
    accountId: string,
    cause: unknown,
    action: "kms:CreateGrant" | "kms:DescribeKey",
  ) {
    const key = parseKeyArn(keyArn);
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const statement = targetAccountKeyStatement(accountId, key?.partition);
    super(
      `${action} on ${keyArn} refused for account ${accountId} (${reason}). The key policy in account ${key?.accountId ?? "?"} must allow that account ${action} with no kms:GrantIsForAWSResource condition, e.g. ${statement}; the target role must also allow ${action} on the key ARN.`,
      { cause, retryable: false },
    );
    this.keyArn = keyArn;
    this.accountId = accountId;
  }
}

/**
 * KMS does not know the grantee: InvalidArnException ("a specified ARN ... is not valid", KMS API
 * model), which is also what a role created moments ago gets, since IAM changes take time to
 * replicate ("Such changes include creating ... roles", IAM user guide, Eventually Consistent)
 * and a new principal "might not be immediately visible to KMS" (KMS API reference, CreateKey
 * Policy). Retryable: the message comes back after the queue's visibility timeout, a bounded
 * number of times (maxReceiveCount) before the dead-letter queue.
 */
export class GranteeNotVisibleError extends OrchestratorError {
  constructor(
    readonly keyArn: string,
    readonly granteePrincipal: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      `CreateGrant on ${keyArn}: grantee ${granteePrincipal} is not visible to KMS yet (${reason}). A role created moments ago (such as the Auto Scaling service-linked role) takes a while to propagate: retried later; if it persists, check that the role exists.`,
      { cause, retryable: true },
    );
  }
}

/** The key exists but is not Enabled (KMS API model, KeyState): nothing it encrypts can launch. */
export class KeyNotEnabledError extends OrchestratorError {
  constructor(
    readonly keyArn: string,
    readonly keyState: string,
  ) {
    super(`KMS key ${keyArn} is ${keyState}: AMIs encrypted with it cannot launch`);
  }
}

/** AccessDenied as each service spells it (KMS, IAM, STS, EC2's UnauthorizedOperation). */
export const isAccessDenied = (error: unknown): boolean =>
  error instanceof Error &&
  /AccessDenied|NotAuthorized|UnauthorizedOperation/i.test(`${error.name} ${error.message}`);

export type KeyOwnership = "customer" | "aws-managed";

/** Whether the key is customer managed (needs a grant) or AWS managed (cannot be shared at all). */
export const describeKeyOwnership = async (
  kms: KMSClient,
  keyArn: string,
  callerAccountId: string,
): Promise<KeyOwnership> => {
  try {
    const { KeyMetadata: metadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    if (metadata?.KeyState && metadata.KeyState !== "Enabled")
      throw new KeyNotEnabledError(keyArn, metadata.KeyState);
    return metadata?.KeyManager === "AWS" ? "aws-managed" : "customer";
  } catch (error) {
    if (isAccessDenied(error))
      throw new GrantRefusedError(keyArn, callerAccountId, error, "kms:DescribeKey");
    throw error;
  }
};

export interface GrantRequest {
  readonly keyArn: string;
  /** The Auto Scaling group's ServiceLinkedRoleARN, in the target account. */
  readonly granteePrincipal: string;
}

export interface GrantResult extends GrantRequest {
  readonly grantName: string;
  readonly grantId: string;
}

/**
 * Creates (or finds, by name) the grant, calling KMS with the target account's credentials: the
 * caller's account is the one the key policy must trust, and the key is addressed by full ARN
 * because it lives in another account.
 */
export const ensureGrant = async (
  kms: KMSClient,
  request: GrantRequest,
  callerAccountId: string,
): Promise<GrantResult> => {
  const name = grantName(request.keyArn, request.granteePrincipal);
  try {
    const { GrantId } = await kms.send(
      new CreateGrantCommand({
        KeyId: request.keyArn,
        GranteePrincipal: request.granteePrincipal,
        Operations: [...AUTO_SCALING_GRANT_OPERATIONS],
        Name: name,
      }),
    );
    if (!GrantId)
      throw new OrchestratorError(`CreateGrant on ${request.keyArn} returned no GrantId`, {
        retryable: true,
      });
    return { ...request, grantName: name, grantId: GrantId };
  } catch (error) {
    if (isAccessDenied(error))
      throw new GrantRefusedError(request.keyArn, callerAccountId, error, "kms:CreateGrant");
    if (error instanceof Error && error.name === "InvalidArnException")
      throw new GranteeNotVisibleError(request.keyArn, request.granteePrincipal, error);
    if (error instanceof Error && error.name === "LimitExceededException") {
      throw new OrchestratorError(
        `KMS key ${request.keyArn} has reached its grant quota (50,000 by default, including EBS's own grants): retire unused grants or request a quota increase`,
        { cause: error },
      );
    }
    throw error;
  }
};
