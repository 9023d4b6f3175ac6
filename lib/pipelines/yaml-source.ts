import { type Document, isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { formatPath } from "../validation/path.ts";
import type { Diagnostic } from "./diagnostic.ts";

/** A YAML file parsed with positions, so any path in it can be reported as `file:line:col`. */
export interface YamlSource {
  readonly file: string;
  readonly document: Document;
  /** Syntax errors; when there are any, `value` is undefined. */
  readonly errors: readonly Diagnostic[];
  readonly value: unknown;
  /** A diagnostic at a document path (at the deepest node that exists there). */
  at(path: readonly PropertyKey[], message: string): Diagnostic;
}

/** What YAML aliases may expand to, as for the config: an alias bomb stops here. */
const MAX_ALIAS_COUNT = 100;

export const parseYamlSource = (text: string, file: string): YamlSource => {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number | undefined) => {
    const found = offset === undefined ? undefined : lineCounter.linePos(offset);
    return found ? { line: found.line, column: found.col } : { line: 1, column: 1 };
  };
  const at = (path: readonly PropertyKey[], message: string): Diagnostic => {
    let depth = path.length;
    let node: unknown;
    for (; depth >= 0; depth--) {
      node = document.getIn(path.slice(0, depth), true);
      if (isNode(node)) break;
    }
    const where = path.length > 0 ? `${formatPath(path)}: ` : "";
    return {
      file,
      ...position(isNode(node) ? node.range?.[0] : undefined),
      message: where + message,
    };
  };
  const errors = document.errors.map((error) => ({
    file,
    ...position(error.pos[0]),
    message: `YAML syntax: ${error.message.split("\n")[0]}`,
  }));
  let value: unknown;
  if (errors.length === 0) {
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      errors.push({
        file,
        line: 1,
        column: 1,
        message: `YAML aliases expand beyond ${MAX_ALIAS_COUNT} nodes (${error instanceof Error ? error.message : String(error)}): write the values out`,
      });
    }
  }
  return { file, document, errors, value, at };
};

/** Validates a parsed source against a zod schema: its output, or every issue located. */
export const validateYaml = <S extends z.ZodType>(
  source: YamlSource,
  schema: S,
): { data?: z.output<S>; diagnostics: Diagnostic[] } => {
  if (source.errors.length > 0) return { diagnostics: [...source.errors] };
  const result = schema.safeParse(source.value ?? {});
  if (result.success) return { data: result.data, diagnostics: [] };
  return {
    diagnostics: result.error.issues
      .flatMap(closestBranch)
      .map((issue) => source.at(issue.path, issue.message)),
  };
};

type Issue = { path: PropertyKey[]; message: string; code?: string; errors?: Issue[][] };

/**
 * A value that matches no branch of a union (`{ file, version }` or `{ arn }`) is reported by
 * the branch it comes closest to, the one with the fewest problems, so "1.0 is not a component
 * version" is said rather than "not a component".
 */
const closestBranch = (issue: z.core.$ZodIssue): Issue[] => {
  const union = issue as unknown as Issue;
  if (union.code !== "invalid_union" || !union.errors || union.errors.length === 0) return [union];
  const sizes = union.errors.map((branch) => branch.length);
  const fewest = Math.min(...sizes);
  if (sizes.filter((size) => size === fewest).length > 1) return [union];
  const branch = union.errors[sizes.indexOf(fewest)] ?? [];
  return branch.flatMap((inner) =>
    closestBranch({
      ...inner,
      path: [...union.path, ...inner.path],
    } as unknown as z.core.$ZodIssue),
  );
};
