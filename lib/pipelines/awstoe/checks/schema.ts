import type { z } from "zod";
import { ACTION_NAMES } from "../actions/index.ts";
import { outline, type StepOutline } from "../outline.ts";
import { documentEnvelopeSchema } from "../schema/document.ts";
import { type ComponentSource, keyNodeAt, nodeAt, reportNode } from "../source.ts";
import { didYouMean } from "../suggest.ts";
import { checkExpression } from "./conditions.ts";
import { type IssueScope, reportIssues } from "./zod-issues.ts";

/** `loop.for.updateBy`, `parameters[0].name`: a path inside a step or an input, for messages. */
const dotted = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (text, key) =>
      typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    "",
  );

const stepTitle = (value: unknown, phaseIndex: number, stepIndex: number): string => {
  const step = (value as { phases?: { steps?: { name?: unknown }[] }[] })?.phases?.[phaseIndex]
    ?.steps?.[stepIndex];
  return typeof step?.name === "string" ? `step "${step.name}"` : `step ${stepIndex + 1}`;
};

const phaseTitle = (value: unknown, phaseIndex: number): string => {
  const phase = (value as { phases?: { name?: unknown }[] })?.phases?.[phaseIndex];
  return typeof phase?.name === "string" ? `phase "${phase.name}"` : `phase ${phaseIndex + 1}`;
};

/** Names the document field at a path: `onFailure of step "Install"`, `phase 2 name`. */
const documentScope = (value: unknown): IssueScope => {
  const where = (path: readonly PropertyKey[]) => {
    if (path[0] === "phases" && typeof path[1] === "number") {
      if (path[2] === "steps" && typeof path[3] === "number") {
        return { rest: path.slice(4), owner: stepTitle(value, path[1], path[3]) };
      }
      return { rest: path.slice(2), owner: phaseTitle(value, path[1]) };
    }
    if ((path[0] === "constants" || path[0] === "parameters") && typeof path[1] === "number") {
      const entry = (value as Record<string, unknown[]>)?.[path[0]]?.[path[1]];
      const name = typeof path[2] === "string" ? path[2] : Object.keys(entry ?? {})[0];
      const kind = path[0] === "constants" ? "constant" : "parameter";
      return { rest: path.slice(3), owner: name ? `${kind} "${name}"` : `${kind} ${path[1] + 1}` };
    }
    return { rest: path, owner: "" };
  };
  return {
    base: [],
    schema: documentEnvelopeSchema,
    value,
    label: (path) => {
      const { rest, owner } = where(path);
      if (rest.length === 0) return owner || "the document";
      return owner ? `${dotted(rest)} of ${owner}` : `field "${dotted(rest)}"`;
    },
    unknownKey: (path, key) => {
      const { rest, owner } = where(path);
      const field = `field "${dotted([...rest, key])}"`;
      return owner ? `${field} in ${owner}` : `top-level ${field}`;
    },
  };
};

const inputScope = (step: StepOutline, schema: z.core.$ZodType, action: string): IssueScope => {
  const inside = (path: readonly PropertyKey[]) =>
    step.spec?.form === "list" && typeof path[0] === "number" ? path.slice(1) : path;
  return {
    base: [...step.path, "inputs"],
    schema,
    value: step.fields.inputs,
    label: (path) => {
      const rest = inside(path);
      return rest.length === 0 ? `inputs of ${action}` : `input "${dotted(rest)}" of ${action}`;
    },
    unknownKey: (path, key) => `input "${dotted([...inside(path), key])}" of ${action}`,
  };
};

/**
 * The schema pass: the document's shape (top-level fields, phases, step fields, loops, constants,
 * parameters), then each step's action and inputs against that action module's own schema.
 */
export const checkSchema = (source: ComponentSource): void => {
  const { value } = source;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    reportNode(
      source,
      source.document.contents ?? undefined,
      "a component document is a YAML mapping with schemaVersion: 1.0 and phases",
    );
    return;
  }
  const result = documentEnvelopeSchema.safeParse(value);
  if (!result.success) reportIssues(source, documentScope(value), result.error.issues);
  for (const phase of outline(value)) {
    for (const step of phase.steps) checkStepInputs(source, step);
  }
};

const checkStepInputs = (source: ComponentSource, step: StepOutline): void => {
  const { action, spec } = step;
  if (action === undefined) return;
  if (!spec) {
    const hint = didYouMean(action, ACTION_NAMES);
    reportNode(
      source,
      nodeAt(source, [...step.path, "action"]).node,
      `unknown action "${action}"${hint || `: AWSTOE's action modules are ${ACTION_NAMES.join(", ")}`}`,
    );
    return;
  }
  const inputs = step.fields.inputs;
  if (inputs === undefined || inputs === null) {
    if (spec.inputsRequired) {
      reportNode(
        source,
        keyNodeAt(source, step.path, "inputs") ?? keyNodeAt(source, step.path, "action"),
        `missing inputs of ${spec.name}: see ${spec.doc}`,
      );
    }
    return;
  }
  if (spec.form === "expression") {
    checkExpression(source, [...step.path, "inputs"], inputs, {
      top: false,
      owner: `inputs of ${spec.name}`,
    });
    return;
  }
  const result = spec.inputs.safeParse(inputs);
  if (!result.success)
    reportIssues(source, inputScope(step, spec.inputs, spec.name), result.error.issues);
};
