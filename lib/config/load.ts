import { readFileSync, statSync } from "node:fs";
import { isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.ts";
import { formatPath } from "../validation/path.ts";
import { staleCronReason } from "./cron.ts";
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

/** Largest config file accepted: far beyond any real fleet, small enough to parse in a blink. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** What YAML aliases may expand to: an alias bomb stops here instead of filling memory. */
const MAX_ALIAS_COUNT = 100;

export interface ParseOptions {
  /**
   * The current time, for checks that depend on it (a schedule that can never fire again).
   * Left out, they are skipped: the packaged config must not stop loading when a year passes.
   */
  readonly now?: number;
}

const tooLarge = (file: string, bytes: number): ConfigValidationError =>
  new ConfigValidationError([
    {
      file,
      path: "",
      message: `the file is ${bytes} bytes, more than the ${MAX_CONFIG_BYTES}-byte limit: not parsed`,
    },
  ]);

/** The document path of a node's ancestors as visit() gives them, e.g. `[pipelines, 0, arn]`. */
const pathOf = (ancestors: readonly unknown[], node: unknown): PropertyKey[] => {
  const path: PropertyKey[] = [];
  const chain = [...ancestors, node];
  chain.forEach((ancestor, index) => {
    const next = chain[index + 1];
    if (isPair(ancestor)) {
      const key = ancestor.key;
      path.push(isScalar(key) ? String(key.value) : String(key));
    } else if (isSeq(ancestor) && next !== undefined) {
      path.push(ancestor.items.indexOf(next as never));
    }
  });
  return path;
};

/**
 * Parses and validates a config document. `file` only labels errors. Throws a
 * ConfigValidationError listing every problem with its line, path and value.
 */
export const parseConfig = (
  text: string,
  file: string,
  options: ParseOptions = {},
): OrchestratorConfig => {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(file, bytes);
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
  const at = (offset: number | undefined) => {
    const position = offset === undefined ? undefined : lineCounter.linePos(offset);
    return position ? { line: position.line, column: position.col } : {};
  };
  /** A problem at a document path: located at the deepest node that exists there. */
  const located = (
    path: readonly PropertyKey[],
    message: string,
  ): ConfigProblem & { line?: number } => {
    // A missing key is reported at its parent.
    let node: unknown;
    let depth = path.length;
    for (; depth >= 0; depth--) {
      node = document.getIn(path.slice(0, depth), true);
      if (isNode(node)) break;
    }
    const exact = depth === path.length && isNode(node);
    const value = exact ? document.getIn(path) : undefined;
    return {
      file,
      ...at(isNode(node) ? node.range?.[0] : undefined),
      path: formatPath(path),
      message,
      ...(value !== undefined && typeof value !== "object" ? { value } : {}),
    };
  };
  let json: unknown;
  try {
    json = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    // yaml throws a bare ReferenceError on an alias bomb: say where the aliasing starts.
    let first: { path: PropertyKey[]; offset: number | undefined } | undefined;
    visit(document, {
      Alias: (_, node, ancestors) => {
        first = { path: pathOf(ancestors, node), offset: node.range?.[0] };
        return visit.BREAK;
      },
    });
    throw new ConfigValidationError([
      {
        file,
        ...at(first?.offset),
        path: first ? formatPath(first.path) : "",
        message: `YAML aliases expand beyond ${MAX_ALIAS_COUNT} nodes (${error instanceof Error ? error.message : String(error)}): write the values out`,
      },
    ]);
  }
  const result = configSchema.safeParse(json);
  const problems = result.success
    ? []
    : result.error.issues.map((issue: z.core.$ZodIssue) => located(issue.path, issue.message));
  if (result.success && options.now !== undefined) {
    result.data.pipelines.forEach((pipeline, index) => {
      const schedule = pipeline.schedule;
      const reason =
        schedule && staleCronReason(schedule.cron, schedule.timezone, options.now ?? 0);
      if (reason) problems.push(located(["pipelines", index, "schedule", "cron"], reason));
    });
  }
  if (result.success && problems.length === 0) return result.data;
  throw new ConfigValidationError(
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)),
  );
};

/**
 * Reads, parses and validates the config file. `now` (the real clock by default: this is the
 * edge) rejects schedules that can never fire again.
 */
export const loadConfig = (
  path: string = configPath(),
  options: ParseOptions = { now: Date.now() },
): OrchestratorConfig => {
  let text: string;
  try {
    // Checked before reading: a 13 MB file took 22 s to parse.
    const { size } = statSync(path);
    if (size > MAX_CONFIG_BYTES) throw tooLarge(path, size);
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof ConfigValidationError) throw error;
    throw new ConfigError(
      `cannot read configuration file ${path} (set ORCHESTRATOR_CONFIG to its path)`,
      {
        cause: error,
      },
    );
  }
  return parseConfig(text, path, options);
};
