import { isRecord } from "../outline.ts";
import {
  COMPARISON_OPERATORS,
  LOGICAL_OPERATORS,
  LOOSE_OPERAND_KEYS,
  MAX_LOGICAL_DEPTH,
  STEP_OUTCOMES,
} from "../schema/conditions.ts";
import {
  type ComponentSource,
  type DocumentPath,
  keyNodeAt,
  nodeAt,
  reportNode,
} from "../source.ts";
import { didYouMean } from "../suggest.ts";

/**
 * Checks a conditional expression (a step's `if`, the Assert action's inputs) against the operator
 * table of schema/conditions.ts, which cites the user guide pages.
 */

const COMPARISONS = new Map(COMPARISON_OPERATORS.map((operator) => [operator.name, operator]));
const LOGICAL = new Set<string>(LOGICAL_OPERATORS);
const OPERATOR_NAMES = [...COMPARISONS.keys(), ...LOGICAL];

interface Where {
  /** The `if` of a step (then/else allowed) or a nested / Assert expression. */
  readonly top: boolean;
  /** "if of step \"Install\"", for messages. */
  readonly owner: string;
  /** Logical operators above this expression. */
  readonly depth?: number;
}

const isScalar = (value: unknown): boolean =>
  ["string", "number", "boolean"].includes(typeof value);

export const checkExpression = (
  source: ComponentSource,
  path: DocumentPath,
  value: unknown,
  where: Where,
): void => {
  const here = () => nodeAt(source, path).node;
  if (where.top && Array.isArray(value)) {
    if (value.length !== 1) {
      reportNode(
        source,
        here(),
        `${where.owner} holds one expression (a mapping, or a one-item list)`,
      );
      return;
    }
    checkExpression(source, [...path, 0], value[0], where);
    return;
  }
  if (!isRecord(value) || Object.keys(value).length === 0) {
    reportNode(
      source,
      here(),
      `${where.owner} must be an expression: a comparison such as \`stringEquals: a\` with \`value: b\`, or and/or/not`,
    );
    return;
  }
  const keys = Object.keys(value);
  const operators = keys.filter((key) => COMPARISONS.has(key) || LOGICAL.has(key));
  const keyNode = (key: string) => keyNodeAt(source, path, key);
  if (operators.length === 0) {
    const unknown =
      keys.find((key) => !["then", "else", "value", "path"].includes(key)) ?? keys[0] ?? "";
    reportNode(
      source,
      keyNode(unknown),
      `unknown operator "${unknown}" in ${where.owner}${didYouMean(unknown, OPERATOR_NAMES) || `: use a comparison (${[...COMPARISONS.keys()].slice(0, 3).join(", ")}, …) or and/or/not`}`,
    );
    return;
  }
  const [operator, ...others] = operators as [string, ...string[]];
  for (const other of others) {
    reportNode(
      source,
      keyNode(other),
      `${where.owner} holds exactly one operator: combine "${operator}" and "${other}" under and/or`,
    );
  }
  const allowed = new Set<string>([operator, ...others, ...(where.top ? ["then", "else"] : [])]);
  const comparison = COMPARISONS.get(operator);
  if (comparison?.form === "binary") allowed.add("value");
  if (comparison?.form === "loose") for (const key of LOOSE_OPERAND_KEYS) allowed.add(key);
  for (const key of keys) {
    if (allowed.has(key)) continue;
    const reason =
      key === "value" && comparison
        ? `${operator} compares one value and takes no "value"`
        : (key === "then" || key === "else") && !where.top
          ? `"${key}" belongs at the top of the step's if, not inside ${where.owner}`
          : `unknown key "${key}" in ${where.owner}${didYouMean(key, allowed)}`;
    reportNode(source, keyNode(key), reason);
  }
  for (const outcome of ["then", "else"] as const) {
    const chosen = value[outcome];
    if (
      where.top &&
      chosen !== undefined &&
      !(STEP_OUTCOMES as readonly unknown[]).includes(chosen)
    ) {
      reportNode(
        source,
        nodeAt(source, [...path, outcome]).node,
        `${outcome} must be Abort, Execute or Skip (got ${JSON.stringify(chosen)})${typeof chosen === "string" ? didYouMean(chosen, STEP_OUTCOMES) : ""}`,
      );
    }
  }
  if (comparison) {
    if (!isScalar(value[operator])) {
      reportNode(
        source,
        nodeAt(source, [...path, operator]).node,
        `${operator} compares a single value, not a list or mapping`,
      );
    }
    if (comparison.form === "binary") {
      if (!("value" in value)) {
        reportNode(
          source,
          keyNode(operator),
          `${operator} needs "value": the second value to compare with`,
        );
      } else if (!isScalar(value.value)) {
        reportNode(
          source,
          nodeAt(source, [...path, "value"]).node,
          `value of ${operator} must be a single value`,
        );
      }
    }
    return;
  }
  const depth = (where.depth ?? 0) + 1;
  if (depth > MAX_LOGICAL_DEPTH) {
    reportNode(
      source,
      keyNode(operator),
      `and/or/not nest at most ${MAX_LOGICAL_DEPTH} levels deep in ${where.owner}: flatten the expression`,
    );
    return;
  }
  const operands = value[operator];
  const nested = { top: false, owner: where.owner, depth };
  if (operator === "not") {
    if (Array.isArray(operands) && operands.length === 1)
      checkExpression(source, [...path, "not", 0], operands[0], nested);
    else if (Array.isArray(operands))
      reportNode(
        source,
        nodeAt(source, [...path, "not"]).node,
        "not negates exactly one expression",
      );
    else checkExpression(source, [...path, "not"], operands, nested);
    return;
  }
  if (!Array.isArray(operands) || operands.length < 2) {
    reportNode(
      source,
      nodeAt(source, [...path, operator]).node,
      `${operator} takes a list of two or more expressions${Array.isArray(operands) ? ": use the single comparison without it" : ""}`,
    );
    return;
  }
  operands.forEach((operand, index) => {
    checkExpression(source, [...path, operator, index], operand, nested);
  });
};
