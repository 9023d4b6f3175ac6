import { asList } from "./evaluation.ts";
import type { RolePolicies } from "./policies.ts";

/** A deployed role changed as a test needs it: an action or a statement taken out. */

/**
 * The role with `action` taken out of every statement, as if it had been deleted from
 * serverless.yml or the template. Throws when no statement has it.
 */
export const withoutAction = (role: RolePolicies, action: string, label: string): RolePolicies => {
  let removed = false;
  const policies = role.policies.map(({ name, policy }) => ({
    name,
    policy: {
      ...policy,
      Statement: policy.Statement.flatMap((statement) => {
        const actions = asList(statement.Action);
        const kept = actions.filter(
          (candidate) => candidate.toLowerCase() !== action.toLowerCase(),
        );
        if (kept.length === actions.length) return [statement];
        removed = true;
        return kept.length > 0 ? [{ ...statement, Action: kept }] : [];
      }),
    },
  }));
  if (!removed) throw new Error(`${label} has no statement with ${action}`);
  return { ...role, policies };
};

/**
 * The role without its statement `sid`, as a stack deployed from an older template would have
 * it. Throws when it has none.
 */
export const withoutStatement = (role: RolePolicies, sid: string, label: string): RolePolicies => {
  const policies = role.policies.map(({ name, policy }) => ({
    name,
    policy: {
      ...policy,
      Statement: policy.Statement.filter((statement) => statement.Sid !== sid),
    },
  }));
  if (
    policies.every(
      ({ policy }, index) =>
        policy.Statement.length === role.policies[index]?.policy.Statement.length,
    )
  )
    throw new Error(`${label} has no statement ${sid}`);
  return { ...role, policies };
};
