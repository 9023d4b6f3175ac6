import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { partitionOf } from "../config/regions.ts";
import type { OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { validateComponentDocument } from "./awstoe/validate.ts";
import {
  characterCount,
  componentData,
  componentInputHash,
  documentDescription,
  isTestOnly,
  MAX_INLINE_DATA,
} from "./component-data.ts";
import {
  type PipelineDefinition,
  type Platform,
  pipelineDefinitionSchema,
} from "./definition-schema.ts";
import type { Diagnostic } from "./diagnostic.ts";
import { distributionsOf, distributionTargets } from "./distribution.ts";
import { parseYamlSource, validateYaml, type YamlSource } from "./yaml-source.ts";

/**
 * Reads and validates the managed pipelines the config names: each definition's pipeline.yml,
 * its components (AWSTOE documents, through validateComponentDocument), the limits Image Builder
 * enforces, and the folders under pipelines/ that no pipeline names. Nothing here talks to AWS.
 */

/** API model `ImageRecipe.components`: "a maximum of 20 build and test components". */
export const MAX_COMPONENTS_PER_RECIPE = 20;

/** API model `ResourceName`: 3-128 characters; ARNs lowercase it. */
const RESOURCE_NAME = /^[-_A-Za-z0-9][-_A-Za-z0-9 ]{1,126}[-_A-Za-z0-9]$/;

export interface LocalComponent {
  readonly kind: "local";
  /** Repository-relative path of the AWSTOE document. */
  readonly file: string;
  /** The Image Builder component name: `<pipeline>-<file name>`. */
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly commit?: string;
  /** The document as written. */
  readonly text: string;
  /** Hash of every input that replaces the component (component-data.ts). */
  readonly inputHash: string;
  /** The document as created: the hash header, then the text. */
  readonly data: string;
  readonly parameters?: Readonly<Record<string, string | readonly string[]>>;
}

export interface ArnComponent {
  readonly kind: "arn";
  readonly arn: string;
  readonly parameters?: Readonly<Record<string, string | readonly string[]>>;
}

export type ManagedPipelineConfig = PipelineConfig & {
  definition: string;
  account: string;
  region: string;
};

export interface ManagedPipeline {
  readonly config: ManagedPipelineConfig;
  /** `pipelines/<folder>`, as the config names it. */
  readonly folder: string;
  readonly partition: string;
  readonly definition: PipelineDefinition;
  readonly components: readonly (LocalComponent | ArnComponent)[];
  /** CloudFormation `Distributions`, derived from the config's accounts and waves. */
  readonly distributions: readonly Record<string, unknown>[];
  /** The commit that last changed the definition folder, when known. */
  readonly commit?: string;
}

export interface LoadOptions {
  /** The repository root: definitions are `pipelines/<folder>` below it. */
  readonly root: string;
  readonly config: OrchestratorConfig;
  /** How to name the config file in diagnostics. */
  readonly configFile: string;
  /** The config file's text, to point diagnostics at its lines. */
  readonly configText?: string;
  /** The commit that last changed any of these repository-relative paths, when known. */
  readonly commitOf?: (paths: readonly string[]) => string | undefined;
}

export interface LoadedDefinitions {
  readonly pipelines: ManagedPipeline[];
  readonly diagnostics: Diagnostic[];
}

export const isManaged = (pipeline: PipelineConfig): pipeline is ManagedPipelineConfig =>
  pipeline.definition !== undefined &&
  pipeline.account !== undefined &&
  pipeline.region !== undefined;

const readText = (path: string): string | undefined => {
  try {
    return statSync(path).isFile() ? readFileSync(path, "utf8") : undefined;
  } catch {
    return undefined;
  }
};

/**
 * AWS-managed components carry their platform in their name by convention (update-linux,
 * update-windows, reboot-linux...): a mismatch is certain, a missing suffix tells nothing.
 */
const awsComponentPlatformProblem = (arn: string, platform: Platform): string | undefined => {
  const [, , , , owner = ""] = arn.split(":");
  const name = arn.split("/")[1] ?? "";
  const named = /-(linux|windows|macos)$/.exec(name)?.[1];
  if (!owner.startsWith("aws") || named === undefined) return undefined;
  return named === platform.toLowerCase()
    ? undefined
    : `${name} is an AWS-managed component for ${named}, but this pipeline builds a ${platform} image`;
};

const loadComponents = (
  pipeline: ManagedPipelineConfig,
  definition: PipelineDefinition,
  source: YamlSource,
  options: LoadOptions,
  diagnostics: Diagnostic[],
): (LocalComponent | ArnComponent)[] => {
  const entries = definition.recipe.components;
  if (entries.length > MAX_COMPONENTS_PER_RECIPE) {
    diagnostics.push(
      source.at(
        ["recipe", "components", MAX_COMPONENTS_PER_RECIPE],
        `${entries.length} components: a recipe holds at most ${MAX_COMPONENTS_PER_RECIPE} (API model ImageRecipe.components); split the work into fewer components`,
      ),
    );
  }
  const seen = new Map<string, number>();
  const once = (key: string, index: number, path: PropertyKey[], what: string): boolean => {
    const earlier = seen.get(key);
    if (earlier === undefined) {
      seen.set(key, index);
      return true;
    }
    diagnostics.push(
      source.at(path, `${what} is already recipe.components[${earlier}]: list it once`),
    );
    return false;
  };
  const components: (LocalComponent | ArnComponent)[] = [];
  entries.forEach((entry, index) => {
    const parameters = entry.parameters ? { parameters: entry.parameters } : {};
    if (!("file" in entry)) {
      const path = ["recipe", "components", index, "arn"];
      if (!once(entry.arn.toLowerCase(), index, path, entry.arn)) return;
      const problem = awsComponentPlatformProblem(entry.arn, definition.platform);
      if (problem) diagnostics.push(source.at(path, problem));
      components.push({ kind: "arn", arn: entry.arn, ...parameters });
      return;
    }
    const path = ["recipe", "components", index, "file"];
    const file = `${pipeline.definition}/${entry.file}`;
    const name = `${pipeline.name}-${basename(entry.file).replace(/\.ya?ml$/, "")}`;
    if (!once(name.toLowerCase(), index, path, entry.file)) return;
    if (!RESOURCE_NAME.test(name)) {
      diagnostics.push(
        source.at(
          path,
          `the component's name ${name} (pipeline name, "-", file name) is longer than the 128 characters Image Builder takes (API model ResourceName): shorten the file name`,
        ),
      );
    }
    const text = readText(join(options.root, file));
    if (text === undefined) {
      diagnostics.push(
        source.at(
          path,
          `${file} does not exist: create it, or fix the path (relative to ${pipeline.definition})`,
        ),
      );
      return;
    }
    diagnostics.push(...validateComponentDocument(text, file, { platform: definition.platform }));
    const description = documentDescription(text);
    const commit = options.commitOf?.([file]);
    const inputs = {
      name,
      version: entry.version,
      platform: definition.platform,
      text,
      ...(description === undefined ? {} : { description }),
      ...(commit === undefined ? {} : { commit }),
    };
    const inputHash = componentInputHash(inputs);
    const data = componentData(text, inputHash);
    const length = characterCount(data);
    if (definition.componentBucket === undefined && length > MAX_INLINE_DATA) {
      diagnostics.push({
        file,
        line: 1,
        column: 1,
        message: `the document is ${length.toLocaleString("en-US")} characters as created (with its one-line hash header), more than the ${MAX_INLINE_DATA.toLocaleString("en-US")} Image Builder takes inline (API model CreateComponentRequest.data): set componentBucket in ${pipeline.definition}/pipeline.yml so it is uploaded to S3, or split it`,
      });
    }
    components.push({
      kind: "local",
      file,
      name,
      version: entry.version,
      text,
      inputHash,
      data,
      ...(description === undefined ? {} : { description }),
      ...(commit === undefined ? {} : { commit }),
      ...parameters,
    });
  });
  // "Recipes require a minimum of one build component" (API model ImageRecipe.components). A
  // component by ARN may be one; ours are known.
  if (
    components.length > 0 &&
    components.every((component) => component.kind === "local" && isTestOnly(component.text))
  ) {
    diagnostics.push(
      source.at(
        ["recipe", "components"],
        "every component has only a test phase (a TEST component): a recipe needs at least one build component (API model ImageRecipe.components)",
      ),
    );
  }
  return components;
};

/** Folders under pipelines/ that hold something, by their `pipelines/<folder>` path. */
const definitionFolders = (root: string): string[] => {
  const dir = join(root, "pipelines");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => `pipelines/${entry.name}`)
    .sort();
};

const byPosition = (a: Diagnostic, b: Diagnostic): number =>
  a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1;

export const loadDefinitions = (options: LoadOptions): LoadedDefinitions => {
  const { config, configFile } = options;
  const configSource =
    options.configText === undefined ? undefined : parseYamlSource(options.configText, configFile);
  const atConfig = (path: PropertyKey[], message: string): Diagnostic =>
    configSource?.at(path, message) ?? { file: configFile, line: 1, column: 1, message };
  const diagnostics: Diagnostic[] = [];
  const pipelines: ManagedPipeline[] = [];
  const named = new Set<string>();
  config.pipelines.forEach((pipeline, index) => {
    if (!isManaged(pipeline)) return;
    named.add(pipeline.definition);
    const file = `${pipeline.definition}/pipeline.yml`;
    const text = readText(join(options.root, file));
    if (text === undefined) {
      diagnostics.push(
        atConfig(
          ["pipelines", index, "definition"],
          `${file} does not exist: create it (docs/pipelines.md), or name the folder that holds it`,
        ),
      );
      return;
    }
    const source = parseYamlSource(text, file);
    const { data: definition, diagnostics: schemaProblems } = validateYaml(
      source,
      pipelineDefinitionSchema,
    );
    diagnostics.push(...schemaProblems);
    if (!definition) return;
    const components = loadComponents(pipeline, definition, source, options, diagnostics);
    const { distributions, problems } = distributionsOf(
      definition,
      distributionTargets(config, pipeline),
      pipeline.name,
    );
    for (const problem of problems) diagnostics.push(source.at(["distribution"], problem));
    const commit = options.commitOf?.([pipeline.definition]);
    pipelines.push({
      config: pipeline,
      folder: pipeline.definition,
      partition: partitionOf(pipeline.region) ?? "aws",
      definition,
      components,
      distributions,
      ...(commit === undefined ? {} : { commit }),
    });
  });
  for (const folder of definitionFolders(options.root)) {
    if (named.has(folder)) continue;
    const file = existsSync(join(options.root, folder, "pipeline.yml"))
      ? `${folder}/pipeline.yml`
      : folder;
    diagnostics.push({
      file,
      line: 1,
      column: 1,
      message: `no pipeline of ${configFile} names ${folder}: add one with \`definition: ${folder}\` (and its account and region), or delete the folder`,
    });
  }
  return { pipelines, diagnostics: diagnostics.sort(byPosition) };
};
