import { z } from "zod";

/**
 * Value shapes shared by the document and the action modules' inputs.
 *
 * AWSTOE documents are YAML, and the user guide's own examples write string inputs unquoted even
 * when YAML reads them as numbers (`expectedBucketOwner: 123456789022`, `value: 1.1` for
 * SetRegistry): a "String" input therefore accepts a number too. Every value may also be a
 * `{{ … }}` reference, which the reference pass resolves.
 * Source: https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html
 */

/** A string holding at least one `{{ … }}` reference (variables, loops, chaining). */
export const REFERENCE_PATTERN = /\{\{[^{}]*\}\}/;

export const reference = z
  .string()
  .regex(REFERENCE_PATTERN)
  .meta({ description: "A {{ … }} reference" });

/**
 * A value of `schema`, or a `{{ … }}` reference resolved at run time; every failure reads
 * `message`, whichever of the two forms zod reports.
 */
export const orReference = (schema: z.ZodType, message: string) =>
  z.union([schema, z.string({ error: message }).regex(REFERENCE_PATTERN, message)], {
    error: message,
  });

/** A "String" input: a string, or a scalar YAML reads as a number. */
export const text = z.union([z.string(), z.number()], { error: "must be a string" });

/** A "Boolean" input: true or false (also as a string), or a reference. */
export const flag = orReference(
  z.union([z.boolean(), z.string().regex(/^(true|false)$/i)], { error: "must be true or false" }),
  "must be true or false",
);

/** A "String List" input. */
export const textList = z.array(text, { error: "must be a list of strings" });

/**
 * The encodings AppendFile, CreateFile, ReadFile and SetFileEncoding accept, case-insensitive:
 * utf8, utf-8, utf16, utf-16, utf16-LE, utf-16-LE, utf16-BE, utf-16-BE, utf32, utf-32, utf32-LE,
 * utf-32-LE, utf32-BE, utf-32-BE (toe-action-modules.html, AppendFile "Acceptable values").
 */
export const encoding = z.union(
  [z.string().regex(/^[uU][tT][fF]-?(8|16(-[lLbB][eE])?|32(-[lLbB][eE])?)$/), reference],
  {
    error:
      "must be utf8, utf16, utf16-LE, utf16-BE, utf32, utf32-LE or utf32-BE (a dash after utf is optional)",
  },
);

/** A Unix owner, group or permission value (`permissions: 0755` is read by YAML as a number). */
export const unixAttribute = text;
