import { z } from "zod";

/**
 * Conditional expressions: the `if` construct of a step and the Assert action's inputs.
 *
 * Sources (AWSTOE user guide):
 * - toe-conditional-constructs.html: `if` holds "exactly one" operator at the top level, a
 *   comparison or a logical operator; optional `then` / `else` step actions Abort, Execute or Skip;
 *   "Conditional expressions support a maximum nesting depth of 4 levels" of and/or/not.
 * - toe-logical-operators.html: `and` and `or` "evaluate two or more comparisons"; `not` negates
 *   one (written as a mapping, `not: { binaryExists: unzip }`, or a one-item list).
 * - toe-comparison-operators.html: an operator "can operate on a single value, for example
 *   stringIsEmpty, or it can compare a baseline value to a second value", given in `value`.
 *
 * `checked` marks operators whose form the stored copy of those pages shows (the string
 * operators, numberEquals in the logical operators' examples, binaryExists in the conditional
 * constructs' example). The stored copy of the comparison page ends before its number, file and
 * version sections; those operators are accepted by name, and their operand keys are not enforced.
 */
export interface ComparisonOperator {
  readonly name: string;
  /** `binary`: needs `value`; `unary`: takes nothing else; `loose`: form not verified. */
  readonly form: "binary" | "unary" | "loose";
  readonly checked: boolean;
}

const operators = (
  names: readonly string[],
  form: ComparisonOperator["form"],
  checked: boolean,
): ComparisonOperator[] => names.map((name) => ({ name, form, checked }));

export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = [
  ...operators(["stringIsEmpty", "stringIsWhitespace"], "unary", true),
  ...operators(
    [
      "stringEquals",
      "stringLessThan",
      "stringLessThanEquals",
      "stringGreaterThan",
      "stringGreaterThanEquals",
      "patternMatches",
    ],
    "binary",
    true,
  ),
  ...operators(["numberEquals"], "binary", true),
  ...operators(
    ["numberLessThan", "numberLessThanEquals", "numberGreaterThan", "numberGreaterThanEquals"],
    "binary",
    false,
  ),
  ...operators(["binaryExists"], "unary", true),
  ...operators(
    [
      "fileExists",
      "folderExists",
      "fileMD5Equals",
      "fileSHA1Equals",
      "fileSHA256Equals",
      "fileSHA512Equals",
      "semanticVersionEquals",
      "semanticVersionLessThan",
      "semanticVersionLessThanEquals",
      "semanticVersionGreaterThan",
      "semanticVersionGreaterThanEquals",
    ],
    "loose",
    false,
  ),
];

export const LOGICAL_OPERATORS = ["and", "or", "not"] as const;

/** Keys a loose (unverified) comparison may carry besides its operator. */
export const LOOSE_OPERAND_KEYS = ["value", "path"] as const;

export const STEP_OUTCOMES = ["Abort", "Execute", "Skip"] as const;

/** "a maximum nesting depth of 4 levels" of logical operators. */
export const MAX_LOGICAL_DEPTH = 4;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

// `then` is the construct's own key (toe-conditional-constructs.html), not a thenable.
const outcome = Object.fromEntries(
  ["then", "else"].map((key) => [key, z.enum(STEP_OUTCOMES).optional()]),
);

/** Every form an expression can take; with `then`/`else` when it is the top of an `if`. */
const variants = (top: boolean): z.ZodType[] => {
  const extra = top ? outcome : {};
  const comparisons = COMPARISON_OPERATORS.map((operator) => {
    const operands =
      operator.form === "binary"
        ? { value: scalar }
        : operator.form === "loose"
          ? { value: scalar.optional(), path: scalar.optional() }
          : {};
    return z.strictObject({ [operator.name]: scalar, ...operands, ...extra });
  });
  return [
    ...comparisons,
    z.strictObject({ and: z.array(expressionSchema).min(2), ...extra }),
    z.strictObject({ or: z.array(expressionSchema).min(2), ...extra }),
    z.strictObject({
      not: z.union([expressionSchema, z.array(expressionSchema).length(1)]),
      ...extra,
    }),
  ];
};

/** A comparison or logical expression (the Assert action's inputs, and what and/or/not hold). */
export const expressionSchema: z.ZodType = z
  .lazy(() => z.union(variants(false) as [z.ZodType, z.ZodType, ...z.ZodType[]]))
  .meta({ id: "expression", description: "A comparison, or and/or/not over expressions" });

const topExpression = z
  .union(variants(true) as [z.ZodType, z.ZodType, ...z.ZodType[]])
  .meta({ id: "topExpression", description: "An expression with optional then/else" });

/** A step's `if`: one top expression, as a mapping or a one-item list (both forms are documented). */
export const conditionSchema = z.union([topExpression, z.array(topExpression).length(1)]).meta({
  id: "condition",
  description:
    "Run the step only when the expression holds (toe-conditional-constructs.html); then/else: Abort, Execute or Skip",
});
