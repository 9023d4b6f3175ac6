import { errorMessage } from "../../errors.ts";
import { amiEncryption } from "../../kms/snapshot-keys.ts";
import { type DoctorCheck, fail, pass } from "../report.ts";
import type { TargetContext } from "./context.ts";
import { fix } from "./fixes.ts";

/** 3. The AMI this target would launch is there, and which keys encrypt its snapshots. */
export const checkAmi = async (
  { target, clients, ec2, region, accountId }: TargetContext,
  amiId: string,
): Promise<{ checks: DoctorCheck[]; keyArns: readonly string[] }> => {
  const checks: DoctorCheck[] = [];
  let keyArns: readonly string[] = [];
  try {
    const encryption = await amiEncryption(amiId, {
      target: ec2,
      targetAccountId: accountId,
      owner: (ownerId) => clients.ownerEc2(ownerId, region),
    });
    keyArns = encryption.keyArns;
    checks.push(
      pass(
        "AMI",
        `${amiId} ${target.sharedFrom ? `shared from ${target.sharedFrom}` : "copied here"}; keys: ${keyArns.join(", ") || "none"}`,
      ),
    );
  } catch (error) {
    checks.push(fail("AMI", errorMessage(error), fix.readAmi));
  }

  return { checks, keyArns };
};
