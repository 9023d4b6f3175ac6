import { CreateGrantCommand } from "@aws-sdk/client-kms";
import { errorMessage, errorName } from "../../errors.ts";
import {
  AUTO_SCALING_GRANT_OPERATIONS,
  describeKeyOwnership,
  findGrant,
  GrantRefusedError,
  grantName,
  isAccessDenied,
  KeyNotEnabledError,
  parseKeyArn,
} from "../../kms/grants.ts";
import { type DoctorCheck, fail, pass } from "../report.ts";
import type { TargetContext } from "./context.ts";
import { fix } from "./fixes.ts";

/**
 * KMS, for each key × role, as roll-out-target does it: the key first (an AWS managed key needs
 * no grant and can have none; a key that is not Enabled cannot launch anything), then a grant
 * already there (ListGrants), else would CreateGrant succeed (DryRun).
 */
export const checkGrants = async (
  { account, clients, region, accountId }: TargetContext,
  keyArns: readonly string[],
  roles: readonly string[],
): Promise<DoctorCheck[]> => {
  const checks: DoctorCheck[] = [];
  for (const keyArn of keyArns) {
    const keyRegion = parseKeyArn(keyArn)?.region ?? region;
    const kms = clients.kms(account, keyRegion);
    const keyId = keyArn.split("/").at(-1);
    const keyAccount = parseKeyArn(keyArn)?.accountId ?? "?";
    const keyPolicyFix = fix.keyPolicy(keyArn, keyAccount, accountId);
    try {
      if ((await describeKeyOwnership(kms, keyArn, accountId)) === "aws-managed") {
        checks.push(pass(`grant ${keyId}`, `${keyArn} is an AWS managed key: no grant needed`));
        continue;
      }
    } catch (error) {
      if (error instanceof GrantRefusedError)
        checks.push(
          fail(
            `grant ${keyId}`,
            `kms:DescribeKey refused for account ${accountId}: ${errorMessage(error.cause)}`,
            keyPolicyFix,
          ),
        );
      else if (error instanceof KeyNotEnabledError)
        checks.push(
          fail(
            `grant ${keyId}`,
            errorMessage(error),
            fix.keyState(error.keyState, keyArn, keyRegion, keyAccount),
          ),
        );
      else throw error;
      continue;
    }
    if (roles.length === 0)
      checks.push(
        pass(
          `grant ${keyId}`,
          "the key can be described; no grant checked: no service-linked role exists yet (above)",
        ),
      );
    for (const grantee of roles) {
      const check = `grant ${keyId} → ${grantee.split("/").at(-1)}`;
      // Refused ListGrants is reported, then the dry run still says whether a grant would work.
      let listRefused: string | undefined;
      try {
        const grant = await findGrant(kms, keyArn, grantee);
        if (grant) {
          checks.push(pass(check, `grant exists (${grant.Name || grant.GrantId})`));
          continue;
        }
      } catch (error) {
        if (!isAccessDenied(error)) throw error;
        listRefused = errorMessage(error);
      }
      const listing = listRefused
        ? `ListGrants refused (${listRefused}): whether a grant exists is unknown, and explain-launch-failure cannot tell a missing one`
        : "no grant yet";
      try {
        await kms.send(
          new CreateGrantCommand({
            KeyId: keyArn,
            GranteePrincipal: grantee,
            Operations: [...AUTO_SCALING_GRANT_OPERATIONS],
            Name: grantName(keyArn, grantee),
            DryRun: true,
          }),
        );
        // With DryRun, AWS answers DryRunOperationException when it would succeed: a plain
        // success means the flag was not honoured and a grant may exist now. Said loudly.
        checks.push(
          fail(
            check,
            "CreateGrant answered without DryRunOperationException: a grant may have been created",
            fix.checkGrants(keyArn, keyRegion),
          ),
        );
      } catch (error) {
        if (errorName(error) !== "DryRunOperationException")
          checks.push(fail(check, `${errorMessage(error)}; ${listing}`, keyPolicyFix));
        else if (listRefused)
          checks.push(
            fail(
              check,
              `${listing}; CreateGrant would succeed (DryRun)`,
              fix.listGrants(keyArn, keyAccount, accountId),
            ),
          );
        else checks.push(pass(check, `${listing}; CreateGrant would succeed (DryRun)`));
      }
    }
  }
  return checks;
};
