import { z } from "zod";
import { ACTIONS } from "../actions/index.ts";
import { conditionSchema } from "./conditions.ts";
import { text } from "./values.ts";

/**
 * The AWSTOE component document, defined once: the validator checks documents against these
 * parts, and the published JSON Schema (schemas/awstoe-component.schema.json) is generated from
 * `componentDocumentSchema`.
 *
 * Sources (AWSTOE user guide):
 * - toe-use-documents.html "Document schema and definitions": name, description, schemaVersion
 *   ("currently 1.0"), phases; a step's name, action, timeoutSeconds ("-1 value, which indicates
 *   infinite timeout. 0 and other negative values are not allowed", default 7,200; no maximum is
 *   documented), onFailure (Abort, Continue, Ignore), maxAttempts (default 1), inputs.
 * - toe-use-documents.html "Phases": build, validate and test; "Each phase name must be unique";
 *   Image Builder also runs `container-host-test` for container recipes. A phase of another name
 *   never runs in Image Builder, so it is refused as a likely typo.
 * - toe-user-defined-variables.html: constants and parameters, lists of one-key mappings, names of
 *   3 to 128 letters, digits, "-" or "_", type `string` only.
 * - toe-looping-constructs.html: `loop` with an optional `name` and `for` (start, end, updateBy,
 *   integers, "Does not accept chaining expressions", updateBy "a negative or positive non-zero
 *   value") or `forEach` (a list of strings, or `list` + `delimiter`, one of . , ; : \n \t space - _).
 * - toe-conditional-constructs.html: `if`.
 */

export const PHASE_NAMES = ["build", "validate", "test", "container-host-test"] as const;

/**
 * A step or loop name. Not spelled out in the user guide: a step name is part of every chaining
 * expression (`{{ build.<step>.outputs.stdout }}`) and a loop name of `{{ <loop>.value }}`, so it
 * takes the characters the guide allows in variable names: letters, digits, "-" and "_".
 */
export const IDENTIFIER = /^[A-Za-z0-9_-]+$/;

/** Constant and parameter names: "between 3 and 128 characters … alphanumeric …, dashes, or underscores". */
export const VARIABLE_NAME = /^[A-Za-z0-9_-]{3,128}$/;

const identifier = (what: string) =>
  z
    .string({ error: `must be a ${what} name` })
    .regex(
      IDENTIFIER,
      `must use only letters, digits, "-" and "_": references like {{ … }} name it`,
    );

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: "must be a single value" });

const variables = (entry: z.ZodType, kind: string) =>
  z.array(
    z
      .record(
        z.string().regex(VARIABLE_NAME, `${kind} names are 3 to 128 letters, digits, "-" or "_"`),
        entry,
        { error: `must be a mapping \`- <Name>: { … }\`` },
      )
      .refine((record) => Object.keys(record).length === 1, {
        error: `must hold exactly one ${kind}: start each one with its own "- "`,
      }),
    { error: `must be a list of \`- <Name>: { … }\` entries` },
  );

const stringType = z.literal("string", {
  error: 'must be "string", the only type AWSTOE supports',
});

export const constantsSchema = variables(
  z.strictObject({ type: stringType, value: scalar }),
  "constant",
);

export const parametersSchema = variables(
  z.strictObject({ type: stringType, default: scalar.optional(), description: text.optional() }),
  "parameter",
);

/** Delimiters a delimited forEach list may use ("Only one delimeter character is allowed"). */
export const LOOP_DELIMITERS = [".", ",", ";", ":", "\n", "\t", " ", "-", "_"] as const;

const loopBound = z.int({
  error: "must be a whole number (a loop bound takes no {{ … }} reference)",
});

export const loopSchema = z
  .strictObject({
    name: identifier("loop").optional(),
    for: z
      .strictObject({
        start: loopBound,
        end: loopBound,
        updateBy: loopBound.refine((value) => value !== 0, {
          error: "must not be 0: the loop would never end",
        }),
      })
      .refine(
        (bounds) =>
          bounds.updateBy === 0 ||
          bounds.start === bounds.end ||
          Math.sign(bounds.end - bounds.start) === Math.sign(bounds.updateBy),
        {
          error:
            "never reaches end from start: make updateBy positive to count up, negative to count down",
          path: ["updateBy"],
        },
      )
      .optional(),
    forEach: z
      .union(
        [
          z.array(scalar).min(1, "must list at least one value"),
          z.strictObject({
            list: text,
            delimiter: z
              .enum(LOOP_DELIMITERS, {
                error: 'must be one character of . , ; : "\\n" "\\t" space - _',
              })
              .optional(),
          }),
        ],
        { error: "must be a list of values, or `list:` with an optional `delimiter:`" },
      )
      .optional(),
  })
  .refine((loop) => (loop.for === undefined) !== (loop.forEach === undefined), {
    error: "needs exactly one of for (start, end, updateBy) or forEach (a list)",
  })
  .meta({ id: "loop", description: "Repeat the step (toe-looping-constructs.html)" });

const TIMEOUT = "must be -1 (no timeout) or a positive whole number of seconds";

/** Fields every step has, whatever its action. */
const stepFields = {
  name: identifier("step").meta({ id: "stepName" }),
  onFailure: z
    .enum(["Abort", "Continue", "Ignore"], { error: "must be Abort, Continue or Ignore" })
    .meta({ id: "onFailure", description: "What a failure does (default Abort)" })
    .optional(),
  maxAttempts: z
    .int({ error: "must be a whole number" })
    .min(1, "must be 1 or more")
    .meta({ id: "maxAttempts", description: "Attempts before the step fails (default 1)" })
    .optional(),
  timeoutSeconds: z
    .union([z.literal(-1, { error: TIMEOUT }), z.int({ error: TIMEOUT }).min(1, TIMEOUT)], {
      error: TIMEOUT,
    })
    .meta({ id: "timeoutSeconds", description: "-1 for no timeout (default 7200)" })
    .optional(),
  loop: loopSchema.optional(),
};

const phaseName = z.enum(PHASE_NAMES, {
  error: "must be build, validate, test or container-host-test",
});

const documentOf = (step: z.ZodType) =>
  z.strictObject({
    name: text.optional(),
    description: text.optional(),
    schemaVersion: z.union([z.literal("1.0"), z.literal(1)], { error: "must be 1.0" }),
    constants: constantsSchema.optional(),
    parameters: parametersSchema.optional(),
    phases: z
      .array(
        z.strictObject({
          name: phaseName,
          steps: z
            .array(step, { error: "must be a list of steps" })
            .min(1, "must list at least one step"),
        }),
        { error: "must be a list of phases" },
      )
      .min(1, "must list at least one phase"),
  });

/**
 * What the validator parses first: the document with each step's action, inputs and `if` left
 * open; those are checked against the action's own schema and the expression rules, for messages
 * that name the action and the input.
 */
export const documentEnvelopeSchema = documentOf(
  z.strictObject({
    ...stepFields,
    action: z.string({ error: "must be the name of an action module" }),
    inputs: z.unknown().optional(),
    if: z.unknown().optional(),
  }),
);

/** The complete document, one step variant per action module: what the JSON Schema publishes. */
export const componentDocumentSchema = documentOf(
  z.discriminatedUnion(
    "action",
    [...ACTIONS.values()].map((action) =>
      z
        .strictObject({
          ...stepFields,
          if: conditionSchema.optional(),
          action: z.literal(action.name),
          inputs: (action.inputsRequired ? action.inputs : action.inputs.optional()).meta({
            id: `${action.name}Inputs`,
          }),
        })
        .meta({ description: `${action.name} (${action.category}): ${action.doc}` }),
    ) as unknown as [z.ZodObject, ...z.ZodObject[]],
  ),
);
