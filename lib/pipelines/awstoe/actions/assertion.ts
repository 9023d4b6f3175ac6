import { expressionSchema } from "../schema/conditions.ts";
import { ACTION_MODULES_PAGE, type ActionSpec, ALL_PLATFORMS } from "./spec.ts";

/**
 * Assert: "performs value with comparison/logic operators, and succeeds/fails the step based on
 * the outcome of the assertion" (toe-comparison-operators.html links it as
 * toe-action-modules.html#action-modules-assertion; the enum of the CDK's aws-imagebuilder-alpha
 * ComponentAction describes it). Its inputs are one expression, as in an `if`, without then/else.
 */
export const assertAction: ActionSpec = {
  name: "Assert",
  category: "General execution modules",
  doc: `${ACTION_MODULES_PAGE}#action-modules-assertion`,
  form: "expression",
  inputs: expressionSchema,
  inputNames: [],
  inputsRequired: true,
  outputs: [],
  platforms: ALL_PLATFORMS,
};
