/**
 * A problem found in a definition file, located like a compiler's: `file:line:col: message`
 * (1-based line and column), the same shape as the config errors of `npm run validate-config`.
 */
export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export const formatDiagnostic = (diagnostic: Diagnostic): string =>
  `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`;
