import * as z from "zod/mini";

/**
 * Building blocks for the event schemas, on zod/mini: the same validation and messages as zod
 * classic, at a fraction of its cold-start cost (every handler parses its trigger with these).
 */
export const text = () => z.string().check(z.minLength(1));
export const matching = (pattern: RegExp, message: string) =>
  z.string().check(z.regex(pattern, message));
export const nonNegativeInt = () => z.int().check(z.minimum(0));
export const nonEmptyArray = <T extends z.ZodMiniType>(item: T) =>
  z.array(item).check(z.minLength(1));
