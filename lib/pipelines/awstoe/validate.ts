import type { Diagnostic } from "../diagnostic.ts";
import type { ComponentPlatform } from "./actions/index.ts";
import { checkNames } from "./checks/names.ts";
import { checkPlatform } from "./checks/platform.ts";
import { checkReferences } from "./checks/references.ts";
import { checkSchema } from "./checks/schema.ts";
import { checkSteps } from "./checks/steps.ts";
import { outline } from "./outline.ts";
import { parseSource } from "./source.ts";

export type { ComponentPlatform } from "./actions/index.ts";

const byPosition = (a: Diagnostic, b: Diagnostic): number =>
  a.line - b.line || a.column - b.column || a.message.localeCompare(b.message);

/**
 * Validates one AWSTOE component document (the YAML Image Builder runs with AWSTOE), as
 * `awstoe validate` does and more. Returns every problem found, each located by line and column
 * and naming the fix; an empty list means the document is valid.
 *
 * Passes: YAML syntax; the document schema and each action's inputs (schema/document.ts,
 * actions/*.ts); unique names; `if` expressions and action-fixed step fields; `{{ … }}`
 * references; and, when `platform` is given, the operating systems each action runs on.
 * docs/awstoe-validation.md lists the rules and their sources.
 */
export const validateComponentDocument = (
  text: string,
  file: string,
  options: { platform?: ComponentPlatform } = {},
): Diagnostic[] => {
  const source = parseSource(text, file);
  if (source.value === undefined && source.diagnostics.length > 0)
    return source.diagnostics.sort(byPosition);
  checkSchema(source);
  const phases = outline(source.value);
  checkNames(source, phases);
  checkSteps(source, phases);
  const unquoted = checkReferences(source, phases).map((offset) => {
    const { line, col } = source.lineCounter.linePos(offset);
    return `${line}:${col}`;
  });
  if (options.platform) checkPlatform(source, phases, options.platform);
  const seen = new Set<string>();
  return source.diagnostics
    .filter((diagnostic) => {
      const where = `${diagnostic.line}:${diagnostic.column}`;
      if (unquoted.includes(where) && !diagnostic.message.includes("is read by YAML as a mapping"))
        return false;
      const key = `${where}:${diagnostic.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(byPosition);
};
