/**
 * The key under which the sandbox remembers an IAM decision, the same for two requests that
 * differ only by which account ids they name, so a fleet of 10,000 targets costs the IAM
 * simulation what one target costs (issue 20: the simulation was a quarter of a rollout's CPU).
 *
 * Why that is sound: IAM compares an account id only as a string, for equality or against a
 * pattern (IAM User Guide, "IAM JSON policy elements: Condition operators" and "Resource";
 * policy variables substitute strings). Rename every 12-digit number consistently and one-to-one
 * in the principal, the request, its context and every policy involved, and each equality keeps
 * its outcome, so the decision is the same. A pattern could tell two ids apart by a wildcard
 * beside a digit (`1111*`), and a numeric or date operator could order them: a decision whose
 * policies contain either is keyed by its raw text instead, never renamed.
 */

/** A 12-digit number not part of a longer one: an account id, wherever it stands. */
const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/g;

/**
 * What could tell two account ids apart other than by equality: a wildcard beside a digit, a
 * policy variable (substituted before matching, so `b-${aws:PrincipalAccount}*` can meet a
 * longer number), and the numeric and date operators, qualified (`ForAnyValue:NumericLessThan`)
 * or not.
 */
const ORDER_SENSITIVE =
  /[0-9][*?]|[*?][0-9]|\$\{|Numeric|Date(?:Equals|NotEquals|LessThan|GreaterThan)/;

/**
 * `parts` (the principal, the request with its context) and `policies` (every policy the
 * decision reads, as JSON text) in one key, account ids renamed by order of appearance when
 * that cannot change the decision.
 */
export const decisionKey = (parts: readonly unknown[], policies: readonly string[]): string => {
  const text = `${JSON.stringify(parts)}\n${policies.join("\n")}`;
  if (policies.some((policy) => ORDER_SENSITIVE.test(policy))) return text;
  const renamed = new Map<string, string>();
  return text.replace(ACCOUNT_ID, (id) => {
    let name = renamed.get(id);
    if (name === undefined) {
      // A NUL cannot stand in JSON text (JSON.stringify escapes it): no placeholder can meet
      // a value of the same spelling.
      name = `\u0000${renamed.size}`;
      renamed.set(id, name);
    }
    return name;
  });
};
