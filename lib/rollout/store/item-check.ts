import type * as z from "zod/mini";
import { OrchestratorError } from "../../errors.ts";
import { formatPath } from "../../validation/path.ts";

/**
 * Every item the store reads is checked against its record kind's schema before anyone uses it:
 * an item written by hand, by an older version, or cut short is refused with its key and the
 * field that is wrong, instead of being cast and failing later, far from the cause. Fields the
 * schema does not name are kept as stored (`looseObject`): the key, `type`, bookkeeping fields.
 */

/** A stored item that does not have the shape of its record kind. */
export class MalformedItemError extends OrchestratorError {
  /** The item's key, as stored. */
  readonly key: { readonly pk: string; readonly sk: string };
  /** Each field that failed, as a path (`grants[0].grantId`). */
  readonly fields: readonly string[];

  constructor(
    message: string,
    key: { pk: string; sk: string },
    fields: readonly string[],
    options: { cause?: unknown } = {},
  ) {
    // Not retryable: the next read returns the same item.
    super(message, options);
    this.key = key;
    this.fields = fields;
  }
}

/** The keys of T that are optional. */
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/**
 * One schema per field of T, none missing and none extra, each giving that field's values; an
 * optional field's schema is optional (`z.exactOptional`) and a required one's is not (checked
 * where the schema is assigned to `z.ZodMiniType<T>`). So the schema follows the type.
 */
export type ShapeOf<T> = {
  readonly [K in keyof Required<T>]: K extends OptionalKeys<T>
    ? z.ZodMiniType<T[K]> & { readonly _zod: { readonly optout: "optional" } }
    : z.ZodMiniType<T[K]>;
};

/**
 * What the field should hold, in words that do not depend on zod's locale (zod/mini has no
 * messages of its own unless a locale is loaded).
 */
const expectation = (issue: z.core.$ZodIssue): string => {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${issue.expected}`;
    case "invalid_value":
      return `expected ${issue.values.map((value) => JSON.stringify(value)).join(" or ")}`;
    default:
      return issue.message;
  }
};

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (node, key) =>
      node !== null && typeof node === "object"
        ? (node as Record<PropertyKey, unknown>)[key]
        : undefined,
    input,
  );

/**
 * The item as its record kind, or a MalformedItemError naming the item's key and each bad field,
 * e.g. `stored target item (pk "ROLLOUT#…", sk "TARGET#…") is malformed: status: Invalid option…
 * (got "done")`.
 */
export const checkItem = <T>(
  kind: string,
  schema: z.ZodMiniType<T>,
  item: Record<string, unknown>,
): T => {
  const result = schema.safeParse(item);
  if (result.success) return result.data;
  const key = { pk: String(item.pk), sk: String(item.sk) };
  const fields = result.error.issues.map((issue) => formatPath(issue.path) || "<item>");
  const problems = result.error.issues.map((issue, index) => {
    const value = valueAt(item, issue.path);
    const got = value === undefined ? "missing" : `got ${JSON.stringify(value)?.slice(0, 120)}`;
    return `${fields[index]}: ${expectation(issue)} (${got})`;
  });
  throw new MalformedItemError(
    `stored ${kind} item (pk ${JSON.stringify(key.pk)}, sk ${JSON.stringify(key.sk)}) is malformed: ${problems.join("; ")}. It was not written by this orchestrator as it is: correct the field or delete the item.`,
    key,
    fields,
  );
};
