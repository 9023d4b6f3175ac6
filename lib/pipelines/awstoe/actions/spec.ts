import { z } from "zod";

export type ComponentPlatform = "Linux" | "Windows" | "macOS";

export const ALL_PLATFORMS: readonly ComponentPlatform[] = ["Linux", "Windows", "macOS"];

/** The action modules' section of the AWSTOE user guide, where every action below is documented. */
export const ACTION_MODULES_PAGE =
  "https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html";

/**
 * One AWSTOE action module: what its `inputs` look like, what it outputs for chaining, and the
 * operating systems it runs on. Each spec cites its section of the action modules page.
 */
export interface ActionSpec {
  readonly name: string;
  /** The section of the action modules page ("General execution modules", …). */
  readonly category: string;
  /** The page and anchor documenting the module. */
  readonly doc: string;
  /**
   * `map`: inputs is one mapping (`inputs: { commands: [...] }`); `list`: a list of mappings, one
   * per operation (`inputs: [ { path: … } ]`); `expression`: a comparison or logical expression.
   */
  readonly form: "map" | "list" | "expression";
  /** The schema of `inputs`. */
  readonly inputs: z.ZodType;
  /** The input names a map or list entry accepts (empty for expressions). */
  readonly inputNames: readonly string[];
  /** False when the module has no required input, so `inputs` may be left out (Reboot, UpdateOS). */
  readonly inputsRequired: boolean;
  /** Output fields other steps may chain from (`{{ phase.step.outputs.field }}`). */
  readonly outputs: readonly string[];
  /** The operating systems the module runs on. */
  readonly platforms: readonly ComponentPlatform[];
  /** Inputs a platform refuses although the module runs there (CreateFile's owner on Windows). */
  readonly unsupportedInputs?: {
    readonly platform: ComponentPlatform;
    readonly names: readonly string[];
  };
  /** Step fields the module fixes, refusing any other value (ExecuteDocument). */
  readonly fixedStepFields?: Readonly<Record<string, number>>;
}

type Shape = Record<string, z.ZodType>;

interface Definition {
  readonly name: string;
  readonly category: string;
  readonly anchor: string;
  readonly shape: Shape;
  readonly form: "map" | "list";
  readonly outputs?: readonly string[];
  readonly platforms?: readonly ComponentPlatform[];
  readonly unsupportedInputs?: ActionSpec["unsupportedInputs"];
  readonly fixedStepFields?: ActionSpec["fixedStepFields"];
  /** Whether `inputs` is required; by default, when some input is. */
  readonly inputsRequired?: boolean;
  /** Cross-input rules (exactly one of two inputs…), applied to the mapping or to each entry. */
  readonly refine?: (inputs: Record<string, unknown>, context: z.RefinementCtx) => void;
}

const isOptional = (schema: z.ZodType): boolean => schema.safeParse(undefined).success;

/** Builds an ActionSpec from the input table of the module's section. */
export const defineAction = (definition: Definition): ActionSpec => {
  const entry = definition.refine
    ? z.strictObject(definition.shape).superRefine(definition.refine)
    : z.strictObject(definition.shape);
  const inputsRequired =
    definition.inputsRequired ??
    Object.values(definition.shape).some((schema) => !isOptional(schema));
  return {
    name: definition.name,
    category: definition.category,
    doc: `${ACTION_MODULES_PAGE}#${definition.anchor}`,
    form: definition.form,
    inputs:
      definition.form === "list"
        ? z.array(entry, { error: "must be a list of entries (`- path: …`)" }).min(1)
        : entry,
    inputNames: Object.keys(definition.shape),
    inputsRequired,
    outputs: definition.outputs ?? [],
    platforms: definition.platforms ?? ALL_PLATFORMS,
    ...(definition.unsupportedInputs ? { unsupportedInputs: definition.unsupportedInputs } : {}),
    ...(definition.fixedStepFields ? { fixedStepFields: definition.fixedStepFields } : {}),
  };
};
