import type * as z from "zod/mini";
import { type EventProblem, InvalidEventError } from "../errors.ts";
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
  const problems: EventProblem[] = result.error.issues.map((issue) => {
    const value = valueAt(event, issue.path);
    const field = formatPath(issue.path) || "<event>";
    return value === undefined
      ? { field, reason: issue.message }
      : { field, reason: issue.message, got: JSON.stringify(value)?.slice(0, 120) };
  });
  const shown = problems.map(
    ({ field, reason, got }) =>
      `${field}: ${reason} (${got === undefined ? "missing" : `got ${got}`})`,
  );
  throw new InvalidEventError(`not a valid ${kind}: ${shown.join("; ")}`, event, { problems });
};
