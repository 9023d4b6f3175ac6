import { ACTIONS, type ActionSpec } from "./actions/index.ts";
import type { DocumentPath } from "./source.ts";

/** One step as the semantic checks see it, with the path that locates it in the document. */
export interface StepOutline {
  readonly phase: string | undefined;
  readonly phaseIndex: number;
  readonly index: number;
  readonly name: string | undefined;
  readonly action: string | undefined;
  /** The action module, when `action` names one. */
  readonly spec: ActionSpec | undefined;
  readonly path: DocumentPath;
  readonly fields: Readonly<Record<string, unknown>>;
  /** The loop's name, when the step has a named loop. */
  readonly loopName: string | undefined;
}

export interface PhaseOutline {
  readonly name: string | undefined;
  readonly index: number;
  readonly path: DocumentPath;
  readonly steps: readonly StepOutline[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const stringOrUndefined = (value: unknown): string | undefined =>
  typeof value === "string" ? value : undefined;

/**
 * The phases and steps of a document, read leniently: whatever is not shaped like a phase or a
 * step is left out (the schema pass reports it), so the other checks still run on the rest.
 */
export const outline = (value: unknown): PhaseOutline[] => {
  if (!isRecord(value) || !Array.isArray(value.phases)) return [];
  return value.phases.flatMap((phase, phaseIndex) => {
    if (!isRecord(phase)) return [];
    const phaseName = stringOrUndefined(phase.name);
    const path: DocumentPath = ["phases", phaseIndex];
    const steps = Array.isArray(phase.steps) ? phase.steps : [];
    return [
      {
        name: phaseName,
        index: phaseIndex,
        path,
        steps: steps.flatMap((step, index): StepOutline[] => {
          if (!isRecord(step)) return [];
          const action = stringOrUndefined(step.action);
          return [
            {
              phase: phaseName,
              phaseIndex,
              index,
              name: stringOrUndefined(step.name),
              action,
              spec: action === undefined ? undefined : ACTIONS.get(action),
              path: [...path, "steps", index],
              fields: step,
              loopName: isRecord(step.loop) ? stringOrUndefined(step.loop.name) : undefined,
            },
          ];
        }),
      },
    ];
  });
};

export { isRecord };
