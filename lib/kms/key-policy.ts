/**
 * The one key-policy statement a key owner adds so that target accounts can use a key of another
 * account: the docs (npm run docs), the doctor's fix, the error of a refused grant and the
 * sandbox's key policies are all built here.
 *
 * What the target role calls on the key, and nothing more: DescribeKey (aws/ebs or a
 * customer-managed key), CreateGrant (for the Auto Scaling service-linked role, which then uses
 * the key through the grant) and ListGrants (the doctor and explain-launch-failure read the
 * grants). KMS API reference, each action's "Cross-account use: Yes" and "Required permissions:
 * ... (key policy)". No kms:GrantIsForAWSResource condition: it matches only calls AWS services
 * make on a principal's behalf, and the orchestrator calls CreateGrant itself (KMS developer
 * guide, "kms:GrantIsForAWSResource"). The principal is the account's root: the key policy
 * delegates to the target's IAM, where only the target role may create grants, for the Auto
 * Scaling service-linked role only (templates/target-account-role.yml).
 */
export const TARGET_ACCOUNT_KEY_ACTIONS = [
  "kms:DescribeKey",
  "kms:CreateGrant",
  "kms:ListGrants",
] as const;

/** A type, not an interface: it is also a plain policy record (Record<string, unknown>). */
export type KeyPolicyStatement = {
  readonly Sid: string;
  readonly Effect: "Allow";
  readonly Principal: { readonly AWS: string | readonly string[] };
  readonly Action: readonly string[];
  readonly Resource: "*";
};

/**
 * The statement for these target accounts. One account gets a Sid of its own, so that the
 * statement can be added beside another account's (a policy's Sids are unique).
 */
export const targetAccountsKeyStatement = (
  accountIds: readonly string[],
  partition = "aws",
): KeyPolicyStatement => {
  const roots = accountIds.map((id) => `arn:${partition}:iam::${id}:root`);
  const [only] = accountIds;
  return {
    Sid: `AllowAmiOrchestratorGrants${accountIds.length === 1 ? only : ""}`,
    Effect: "Allow",
    Principal: { AWS: roots.length === 1 && roots[0] ? roots[0] : roots },
    Action: [...TARGET_ACCOUNT_KEY_ACTIONS],
    Resource: "*",
  };
};

/** The statement for one account, as JSON: what a fix tells the key owner to add. */
export const targetAccountKeyStatement = (accountId: string, partition = "aws"): string =>
  JSON.stringify(targetAccountsKeyStatement([accountId], partition));
