import type * as z from "zod/mini";
import { InvalidEventError } from "../errors.ts";
import { formatPath } from "../validation/path.ts";

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (node, key) =>
      node !== null && typeof node === "object"
        ? (node as Record<PropertyKey, unknown>)[key]
        : undefined,
    input,
  );

/**
 * Validates an incoming event against a schema. On failure throws an InvalidEventError whose
 * message names each bad field and what it held, e.g.
 * `not a scheduler tick: scheduledTime: expected an ISO 8601 timestamp (got "yesterday")`.
 */
export const parseEvent = <S extends z.ZodMiniType>(
  schema: S,
  event: unknown,
  kind: string,
): z.output<S> => {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const value = valueAt(event, issue.path);
    const shown = value === undefined ? "missing" : `got ${JSON.stringify(value)?.slice(0, 120)}`;
    return `${formatPath(issue.path) || "<event>"}: ${issue.message} (${shown})`;
  });
  throw new InvalidEventError(`not a valid ${kind}: ${problems.join("; ")}`, event);
};
