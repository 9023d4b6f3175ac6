import { readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative } from "node:path";
import { ConfigValidationError, parseConfig } from "../config/load.ts";
import type { OrchestratorConfig } from "../config/schema.ts";
import { validateComponentDocument } from "./awstoe/validate.ts";
import { type LoadedDefinitions, loadDefinitions } from "./definitions.ts";
import type { Diagnostic } from "./diagnostic.ts";

/**
 * `npm run pipelines -- validate [files…]` and the pipelines part of `npm run validate-config`:
 * the config, every managed pipeline's definition and components, offline.
 */

export interface ValidateOptions {
  /** The repository root: `pipelines/` and display paths are relative to it. */
  readonly root: string;
  /** The config file (absolute, or relative to root). */
  readonly configFile: string;
  /** The commit that last changed these repository-relative paths, when known. */
  readonly commitOf?: (paths: readonly string[]) => string | undefined;
}

export interface Validated {
  readonly diagnostics: Diagnostic[];
  /** Absent when the config itself is invalid. */
  readonly config?: OrchestratorConfig;
  readonly definitions?: LoadedDefinitions;
}

const display = (root: string, file: string): string => {
  const path = relative(root, isAbsolute(file) ? file : join(root, file));
  return path && !path.startsWith("..") ? path : file;
};

const configDiagnostics = (error: ConfigValidationError, file: string): Diagnostic[] =>
  error.problems.map((problem) => ({
    file,
    line: problem.line ?? 1,
    column: problem.column ?? 1,
    message: `${problem.path ? `${problem.path}: ` : ""}${problem.message}${problem.value === undefined ? "" : ` (got ${JSON.stringify(problem.value)})`}`,
  }));

/** Everything: the config, then every definition it names and every folder it does not. */
export const validateRepository = (options: ValidateOptions): Validated => {
  const configFile = display(options.root, options.configFile);
  const absolute = isAbsolute(options.configFile)
    ? options.configFile
    : join(options.root, options.configFile);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    return {
      diagnostics: [
        {
          file: configFile,
          line: 1,
          column: 1,
          message: `cannot read the config (${error instanceof Error ? error.message : String(error)})`,
        },
      ],
    };
  }
  let config: OrchestratorConfig;
  try {
    config = parseConfig(text, configFile);
  } catch (error) {
    if (error instanceof ConfigValidationError)
      return { diagnostics: configDiagnostics(error, configFile) };
    throw error;
  }
  const definitions = loadDefinitions({
    root: options.root,
    config,
    configFile,
    configText: text,
    ...(options.commitOf ? { commitOf: options.commitOf } : {}),
  });
  return { diagnostics: definitions.diagnostics, config, definitions };
};

/**
 * Given files: a `pipeline.yml` is validated as part of its definition (with the config), and so
 * is a component a managed pipeline lists (with its platform and the inline size limit); any
 * other file as a standalone AWSTOE document.
 */
export const validateFiles = (files: readonly string[], options: ValidateOptions): Diagnostic[] => {
  const paths = files.map((file) => display(options.root, file));
  const repository = validateRepository(options);
  const listed = new Set<string>();
  for (const pipeline of repository.definitions?.pipelines ?? []) {
    listed.add(`${pipeline.folder}/pipeline.yml`);
    for (const component of pipeline.components) {
      if (component.kind === "local") listed.add(component.file);
    }
  }
  const diagnostics: Diagnostic[] = [];
  if (repository.config === undefined && paths.some((path) => basename(path) === "pipeline.yml")) {
    diagnostics.push(...repository.diagnostics);
  }
  for (const path of paths) {
    if (basename(path) === "pipeline.yml" || listed.has(path)) {
      const folder = dirname(path);
      diagnostics.push(
        ...repository.diagnostics.filter((diagnostic) =>
          basename(path) === "pipeline.yml"
            ? diagnostic.file.startsWith(`${folder}/`) || diagnostic.message.includes(folder)
            : diagnostic.file === path,
        ),
      );
      continue;
    }
    let text: string;
    try {
      text = readFileSync(join(options.root, path), "utf8");
    } catch (error) {
      diagnostics.push({
        file: path,
        line: 1,
        column: 1,
        message: `cannot read it (${error instanceof Error ? error.message : String(error)})`,
      });
      continue;
    }
    diagnostics.push(...validateComponentDocument(text, path));
  }
  return diagnostics;
};
