import type { z } from "zod";
import {
  type ComponentSource,
  type DocumentPath,
  keyNodeAt,
  nodeAt,
  reportNode,
} from "../source.ts";
import { closest, didYouMean } from "../suggest.ts";

/**
 * Turns zod issues into diagnostics located at the offending YAML node, each message naming the
 * field and the fix: `unknown input "comands" of ExecuteBash; did you mean "commands"?`.
 */

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.core.$ZodType>;
  readonly element?: z.core.$ZodType;
  readonly innerType?: z.core.$ZodType;
  readonly options?: readonly z.core.$ZodType[];
  readonly valueType?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly getter?: () => z.core.$ZodType;
}

const defOf = (schema: z.core.$ZodType): Def => schema._zod.def as unknown as Def;

/** Looks through wrappers (optional, lazy, pipe…) and picks the union option the value takes. */
const unwrap = (schema: z.core.$ZodType, value: unknown): z.core.$ZodType => {
  let current = schema;
  for (let guard = 0; guard < 20; guard++) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.getter) current = def.getter();
    else if (def.type === "pipe" && def.in) current = def.in;
    else if (def.type === "union" && def.options) {
      const wanted = Array.isArray(value) ? "array" : "object";
      const option = def.options.find(
        (candidate) => defOf(unwrap(candidate, value)).type === wanted,
      );
      if (!option) return current;
      current = option;
    } else return current;
  }
  return current;
};

/** The keys the mapping at `path` may hold, read from the schema. */
const keysAt = (
  schema: z.core.$ZodType,
  path: readonly PropertyKey[],
  value: unknown,
): string[] => {
  let current = schema;
  let here = value;
  for (const key of path) {
    const def = defOf(unwrap(current, here));
    const next =
      def.type === "object"
        ? def.shape?.[String(key)]
        : def.type === "array"
          ? def.element
          : def.type === "record"
            ? def.valueType
            : undefined;
    if (!next) return [];
    current = next;
    here = (here as Record<PropertyKey, unknown> | undefined)?.[key as never];
  }
  const def = defOf(unwrap(current, here));
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
};

const describeValue = (value: unknown): string => {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}…` : json;
};

const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (here, key) => (here as Record<PropertyKey, unknown> | undefined)?.[key as never],
    root,
  );

/** How a message names the place: the action's input, or the document field. */
export interface IssueScope {
  /** Path of the validated value inside the document. */
  readonly base: DocumentPath;
  /** The schema the value was validated with (to list the keys a mapping accepts). */
  readonly schema: z.core.$ZodType;
  /** The validated value. */
  readonly value: unknown;
  /** "input \"commands\" of ExecuteBash" for a path inside the value. */
  readonly label: (path: readonly PropertyKey[]) => string;
  /** "input of ExecuteBash", "field in a step" for unknown keys at a path inside the value. */
  readonly unknownKey: (path: readonly PropertyKey[], key: string) => string;
}

const isDefaultMessage = (message: string): boolean =>
  /^(Invalid|Too (big|small)|Unrecognized)/.test(message);

/**
 * For a list or mapping that matches no option of a union, the issues of the option of the same
 * kind (the one that did not fail on the type itself): `delimiter` of a delimited forEach, say.
 */
const closestOption = (issue: z.core.$ZodIssue, value: unknown): z.core.$ZodIssue[] | undefined => {
  if (issue.code !== "invalid_union" || typeof value !== "object" || value === null)
    return undefined;
  const option = issue.errors.find(
    (issues) =>
      issues.length > 0 &&
      !issues.some((inner) => inner.code === "invalid_type" && inner.path.length === 0),
  );
  return option?.map(
    (inner) => ({ ...inner, path: [...issue.path, ...inner.path] }) as z.core.$ZodIssue,
  );
};

/** Reports one diagnostic per issue (one per unknown key). */
export const reportIssues = (
  source: ComponentSource,
  scope: IssueScope,
  issues: readonly z.core.$ZodIssue[],
): void => {
  const expanded = issues.flatMap(
    (issue) => closestOption(issue, valueAt(scope.value, issue.path)) ?? [issue],
  );
  // A misspelled key is reported once, as unknown with its suggestion, not also as a missing key.
  const misspelled = new Set<string>();
  for (const issue of expanded) {
    if (issue.code !== "unrecognized_keys") continue;
    const known = keysAt(scope.schema, issue.path, scope.value);
    for (const key of issue.keys) {
      const suggestion = closest(key, known);
      if (suggestion) misspelled.add(JSON.stringify([...issue.path, suggestion]));
    }
  }
  for (const issue of expanded) {
    const path = [...scope.base, ...issue.path];
    const label = scope.label(issue.path);
    const value = valueAt(scope.value, issue.path);
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(scope.schema, issue.path, scope.value);
      for (const key of issue.keys) {
        reportNode(
          source,
          keyNodeAt(source, path, key) ?? nodeAt(source, path).node,
          `unknown ${scope.unknownKey(issue.path, key)}${didYouMean(key, known)}`,
        );
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      const key = String(issue.path[issue.path.length - 1]);
      const reason = issue.issues[0]?.message ?? "is not a valid name";
      reportNode(source, keyNodeAt(source, path.slice(0, -1), key), `"${key}": ${reason}`);
      continue;
    }
    const located = nodeAt(source, path);
    if (value === undefined && !located.exact) {
      if (!misspelled.has(JSON.stringify(issue.path)))
        reportNode(source, located.node, `missing ${label}`);
      continue;
    }
    const detail = isDefaultMessage(issue.message)
      ? issue.code === "invalid_type"
        ? `must be ${issue.expected === "int" ? "a whole number" : `a ${issue.expected}`}`
        : issue.message.toLowerCase()
      : issue.message;
    const suggestion =
      issue.code === "invalid_value" && typeof value === "string"
        ? didYouMean(value, issue.values.map(String))
        : "";
    const got =
      issue.code === "custom" && typeof value !== "number" ? "" : ` (got ${describeValue(value)})`;
    reportNode(source, located.node, `${label} ${detail}${got}${suggestion}`);
  }
};
