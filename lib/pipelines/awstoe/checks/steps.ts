import type { PhaseOutline } from "../outline.ts";
import { type ComponentSource, nodeAt, reportNode } from "../source.ts";
import { checkExpression } from "./conditions.ts";

/**
 * Step rules beyond the schema: the `if` expression (toe-conditional-constructs.html), and the
 * step fields an action fixes (ExecuteDocument "sets the following default values, and returns
 * an error if you try to change them": timeoutSeconds -1, maxAttempts 1).
 */
export const checkSteps = (source: ComponentSource, phases: readonly PhaseOutline[]): void => {
  for (const phase of phases) {
    for (const step of phase.steps) {
      const title = step.name ? `step "${step.name}"` : `step ${step.index + 1}`;
      if (step.fields.if !== undefined) {
        checkExpression(source, [...step.path, "if"], step.fields.if, {
          top: true,
          owner: `if of ${title}`,
        });
      }
      for (const [field, fixed] of Object.entries(step.spec?.fixedStepFields ?? {})) {
        const given = step.fields[field];
        if (given !== undefined && given !== fixed) {
          reportNode(
            source,
            nodeAt(source, [...step.path, field]).node,
            `${field} of ${step.spec?.name} must be ${fixed} or left out (got ${JSON.stringify(given)}): ${step.spec?.name} ${field === "maxAttempts" ? "runs once, with no retries" : "takes no timeout"}`,
          );
        }
      }
    }
  }
};
