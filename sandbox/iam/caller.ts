import { accountOfAccessKeyId, sandboxAccessKeyId } from "../identity.ts";
import type { CallContext } from "../model/faults.ts";
import type { SandboxWorld } from "../model/world.ts";
import { expiredToken, invalidClientToken, refusal } from "./error-spellings.ts";
import type { RolePolicies } from "./policies.ts";

/** Who makes a call. */
export type Caller =
  | { readonly kind: "admin"; readonly accountId: string }
  | {
      readonly kind: "function";
      readonly accountId: string;
      readonly functionName: string;
      readonly roleArn: string;
      readonly principalArn: string;
    }
  | {
      readonly kind: "assumed";
      readonly accountId: string;
      readonly roleArn: string;
      readonly principalArn: string;
    };

/** A call as the sandbox sees it: which credentials signed it, from which function. */
export interface SignedCall extends CallContext {
  readonly accessKeyId?: string;
  readonly functionName?: string;
}

/**
 * Who signed the call: a session this world's STS issued (an assumed role), a function's own
 * role (its name in serverless.yml), or else the account's administrator. Expired credentials
 * are refused here, before any policy, and so is a session key the world never issued.
 */
export const callerOf = (
  world: SandboxWorld,
  functionRoles: ReadonlyMap<string, RolePolicies>,
  call: SignedCall,
): Caller => {
  const session = call.accessKeyId ? world.sts.sessions.get(call.accessKeyId) : undefined;
  if (session) {
    if (session.expiration <= world.clock.now()) {
      throw refusal(
        expiredToken(call.service),
        "The security token included in the request is expired",
      );
    }
    return {
      kind: "assumed",
      accountId: session.accountId,
      roleArn: session.roleArn,
      principalArn: session.roleArn
        .replace(/^arn:([^:]+):iam::/, "arn:$1:sts::")
        .replace(/:role\/(?:.*\/)?([^/]+)$/, `:assumed-role/$1/${session.sessionName}`),
    };
  }
  const base = sandboxAccessKeyId(world.orchestratorAccountId);
  // A session key this world's STS never issued (e.g. cached from another sandbox): AWS does
  // not know it either.
  if (call.accessKeyId && call.accessKeyId !== base && accountOfAccessKeyId(call.accessKeyId)) {
    throw refusal(
      invalidClientToken(call.service),
      "The security token included in the request is invalid.",
    );
  }
  if (call.functionName && (call.accessKeyId === undefined || call.accessKeyId === base)) {
    const role = functionRoles.get(call.functionName);
    if (!role)
      throw new Error(
        `sandbox IAM: function ${call.functionName} has no role in serverless.yml; name it as serverless.yml does`,
      );
    const roleName = role.roleArn.split("/").at(-1);
    return {
      kind: "function",
      accountId: world.orchestratorAccountId,
      functionName: call.functionName,
      roleArn: role.roleArn,
      // Lambda's session for a function's role is named after the function.
      principalArn: `arn:aws:sts::${world.orchestratorAccountId}:assumed-role/${roleName}/${call.functionName}`,
    };
  }
  return { kind: "admin", accountId: call.accountId };
};
