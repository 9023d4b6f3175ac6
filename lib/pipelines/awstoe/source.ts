import {
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import type { Diagnostic } from "../diagnostic.ts";

/** A path into the document, as zod reports it: `["phases", 0, "steps", 2, "inputs"]`. */
export type DocumentPath = readonly PropertyKey[];

/** What YAML aliases may expand to: an alias bomb stops here instead of filling memory. */
const MAX_ALIAS_COUNT = 100;

/**
 * A parsed component document with what locates its nodes: the YAML tree (every node has its
 * offsets), the line counter that turns offsets into line:col, and the plain value the checks read.
 */
export interface ComponentSource {
  readonly file: string;
  readonly text: string;
  readonly document: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** The document as plain data; undefined when the YAML could not be read. */
  readonly value: unknown;
  /** Problems found so far, in the order found. */
  readonly diagnostics: Diagnostic[];
}

/** Parses the text; YAML syntax errors become diagnostics and leave `value` undefined. */
export const parseSource = (text: string, file: string): ComponentSource => {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: "error",
  });
  const diagnostics: Diagnostic[] = [];
  const position = (offset: number) => lineCounter.linePos(offset);
  for (const error of document.errors) {
    const { line, col } = position(error.pos[0]);
    diagnostics.push({
      file,
      line,
      column: col,
      message: `YAML syntax: ${error.message.split("\n")[0]}`,
    });
  }
  let value: unknown;
  if (document.errors.length === 0) {
    try {
      value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      diagnostics.push({
        file,
        line: 1,
        column: 1,
        message: `YAML aliases expand beyond ${MAX_ALIAS_COUNT} nodes (${error instanceof Error ? error.message : String(error)}): write the values out`,
      });
    }
  }
  return { file, text, document, lineCounter, value, diagnostics };
};

/** Adds a diagnostic at a text offset. */
export const reportAt = (source: ComponentSource, offset: number, message: string): void => {
  const { line, col } = source.lineCounter.linePos(offset);
  source.diagnostics.push({ file: source.file, line, column: col, message });
};

/** Adds a diagnostic at a node (its first character). */
export const reportNode = (
  source: ComponentSource,
  node: Node | undefined,
  message: string,
): void => reportAt(source, node?.range?.[0] ?? 0, message);

/** The node at a path, or the deepest node that exists on the way (a missing key: its parent). */
export const nodeAt = (
  source: ComponentSource,
  path: DocumentPath,
): { node: Node | undefined; exact: boolean } => {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = source.document.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node)) return { node, exact: depth === path.length };
  }
  return { node: undefined, exact: false };
};

/** The key node of `key` in the mapping at `path`, where an unknown or misspelled key is reported. */
export const keyNodeAt = (
  source: ComponentSource,
  path: DocumentPath,
  key: string,
): Node | undefined => {
  const map = source.document.getIn(path as unknown[], true);
  if (!isMap(map)) return undefined;
  const pair = map.items.find(
    (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === key,
  );
  return pair && isNode(pair.key) ? pair.key : undefined;
};

/** Adds a diagnostic at the node a path leads to (or its deepest existing ancestor). */
export const reportPath = (source: ComponentSource, path: DocumentPath, message: string): void =>
  reportNode(source, nodeAt(source, path).node, message);
