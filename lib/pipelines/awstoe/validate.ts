import { LineCounter, parseDocument } from "yaml";
import type { Diagnostic } from "../diagnostic.ts";

export type ComponentPlatform = "Linux" | "Windows" | "macOS";

/**
 * Validates one AWSTOE component document (the YAML Image Builder runs with AWSTOE), as
 * `awstoe validate` does and more. Returns every problem found, each located by line and column;
 * an empty list means the document is valid.
 *
 * For now only YAML syntax is checked; the AWSTOE schema and reference checks build on this.
 */
export const validateComponentDocument = (
  text: string,
  file: string,
  _options: { platform?: ComponentPlatform } = {},
): Diagnostic[] => {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  return document.errors.map((error) => {
    const position = lineCounter.linePos(error.pos[0]);
    return { file, line: position.line, column: position.col, message: error.message };
  });
};
