import { readFileSync } from "node:fs";
import { isNode, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.ts";
import { formatPath } from "../validation/path.ts";
import { configPath } from "./path.ts";
import { configSchema, type OrchestratorConfig } from "./schema.ts";

export { findPipeline, findPipelineByArn } from "./find.ts";
export { configPath, DEFAULT_CONFIG_PATH } from "./path.ts";

/** One problem in the config file, located precisely enough to fix without guessing. */
export interface ConfigProblem {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Path inside the document, e.g. `pipelines[1].schedule.timezone`. */
  readonly path: string;
  readonly message: string;
  /** The offending value as written, when there is one. */
  readonly value?: unknown;
}

export class ConfigValidationError extends ConfigError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((problem) => `  ${formatProblem(problem)}`).join("\n")}`,
    );
    this.problems = problems;
  }
}

export const formatProblem = (problem: ConfigProblem): string => {
  const where =
    problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column}`;
  const value = problem.value === undefined ? "" : ` (got ${JSON.stringify(problem.value)})`;
  return `${where} ${problem.path || "<root>"}: ${problem.message}${value}`;
};

/**
 * Parses and validates a config document. `file` only labels errors. Throws a
 * ConfigValidationError listing every problem with its line, path and value.
 */
export const parseConfig = (text: string, file: string): OrchestratorConfig => {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigValidationError(
      document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          file,
          ...(position ? { line: position.line, column: position.col } : {}),
          path: "",
          message: `YAML syntax: ${error.message.split("\n")[0]}`,
        };
      }),
    );
  }
  const result = configSchema.safeParse(document.toJS() ?? {});
  if (result.success) return result.data;
  throw new ConfigValidationError(
    result.error.issues
      .map((issue: z.core.$ZodIssue) => {
        // Point at the deepest node that exists: a missing key is reported at its parent.
        let node: unknown;
        let depth = issue.path.length;
        for (; depth >= 0; depth--) {
          node = document.getIn(issue.path.slice(0, depth), true);
          if (isNode(node)) break;
        }
        const range = isNode(node) ? node.range : undefined;
        const position = range ? lineCounter.linePos(range[0]) : undefined;
        const exact = depth === issue.path.length && isNode(node);
        const value = exact ? document.getIn(issue.path) : undefined;
        return {
          file,
          ...(position ? { line: position.line, column: position.col } : {}),
          path: formatPath(issue.path),
          message: issue.message,
          ...(value !== undefined && typeof value !== "object" ? { value } : {}),
        };
      })
      .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)),
  );
};

export const loadConfig = (path: string = configPath()): OrchestratorConfig => {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `cannot read configuration file ${path} (set ORCHESTRATOR_CONFIG to its path)`,
      {
        cause: error,
      },
    );
  }
  return parseConfig(text, path);
};
