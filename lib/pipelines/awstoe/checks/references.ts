import { isAlias, isMap, isScalar, isSeq, type Node, visit } from "yaml";
import { ACTIONS } from "../actions/index.ts";
import { isRecord, type PhaseOutline, type StepOutline } from "../outline.ts";
import { type ComponentSource, type DocumentPath, reportAt } from "../source.ts";
import { didYouMean } from "../suggest.ts";

/**
 * Every `{{ … }}` reference resolves (AWSTOE user guide):
 * - `{{ Name }}`: a constant or parameter (toe-user-defined-variables.html), "case-sensitive";
 * - `{{ loop.index }}`, `{{ loop.value }}`, `{{ <loop name>.index|value }}`: only "within the input
 *   body of a step that contains a looping construct", never another step's loop
 *   (toe-looping-constructs.html); elsewhere AWSTOE leaves the text unreplaced;
 * - `{{ phase.step.inputs[i].field }}`, `{{ phase.step.outputs.field }}`: "input or output for one
 *   step can also feed into a subsequent step" (toe-use-documents.html, chaining), so only from an
 *   earlier step, and only outputs the action has; "Image Builder does not support chaining from
 *   the build stage to the test stage, as it runs each stage independently".
 * Text between braces that is not a name path (`{{.Names}}` for docker, say) is not AWSTOE's and
 * is left alone.
 */

const REFERENCE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME_PATH = /^[A-Za-z0-9_-]+(\[\d+\])?(\.[A-Za-z0-9_-]+(\[\d+\])?)*$/;
const CHAIN =
  /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.(inputs|outputs)(?:\[(\d+)\])?\.([A-Za-z0-9_-]+)$/;
const BUILD_STAGE = new Set(["build", "validate"]);
const TEST_STAGE = new Set(["test", "container-host-test"]);
const ACTIONS_WITH_OUTPUTS = [...ACTIONS.values()]
  .filter((action) => action.outputs.length > 0)
  .map((action) => action.name);

interface Scope {
  readonly step: StepOutline;
  /** Whether the step's own loop variables resolve here (its inputs, not its loop or if). */
  readonly loopVisible: boolean;
}

interface Index {
  readonly variables: ReadonlySet<string>;
  readonly phases: readonly PhaseOutline[];
  readonly stepsByPhase: ReadonlyMap<string, ReadonlyMap<string, StepOutline>>;
  readonly loops: ReadonlyMap<string, StepOutline>;
}

const variablesOf = (value: unknown): Set<string> => {
  const names = new Set<string>();
  if (!isRecord(value)) return names;
  for (const section of ["constants", "parameters"]) {
    const list = value[section];
    if (!Array.isArray(list)) continue;
    for (const entry of list)
      if (isRecord(entry)) for (const name of Object.keys(entry)) names.add(name);
  }
  return names;
};

const indexOf = (source: ComponentSource, phases: readonly PhaseOutline[]): Index => {
  const stepsByPhase = new Map<string, Map<string, StepOutline>>();
  const loops = new Map<string, StepOutline>();
  for (const phase of phases) {
    if (phase.name === undefined || stepsByPhase.has(phase.name)) continue;
    const steps = new Map<string, StepOutline>();
    for (const step of phase.steps) {
      if (step.name !== undefined && !steps.has(step.name)) steps.set(step.name, step);
      if (step.loopName !== undefined && !loops.has(step.loopName)) loops.set(step.loopName, step);
    }
    stepsByPhase.set(phase.name, steps);
  }
  return { variables: variablesOf(source.value), phases, stepsByPhase, loops };
};

const title = (step: StepOutline): string =>
  step.name ? `step "${step.name}"` : `step ${step.index + 1}`;

/** Why a reference does not resolve, or undefined when it does. */
const problem = (expression: string, scope: Scope, index: Index): string | undefined => {
  const written = `{{ ${expression} }}`;
  const segments = expression.split(".");
  const [head = "", member] = segments;
  if (segments.length === 1) {
    if (index.variables.has(head)) return undefined;
    if (head === "loop") return `${written} needs a member: {{ loop.value }} or {{ loop.index }}`;
    return `unknown variable ${written}: define it under constants or parameters${didYouMean(head, index.variables)}`;
  }
  const { step } = scope;
  const isLoopName = head === "loop" || head === step.loopName || index.loops.has(head);
  if (segments.length === 2 && isLoopName) {
    if (member !== "index" && member !== "value")
      return `a loop exposes only .index and .value: write {{ ${head}.value }}`;
    if (head !== "loop" && head !== step.loopName) {
      const owner = index.loops.get(head);
      return `${written} names the loop of ${owner ? title(owner) : "another step"}: a loop's variables resolve only in its own step's inputs`;
    }
    if (step.fields.loop === undefined) {
      return `${written} is used outside a loop: it resolves only in the inputs of a step with loop:, add one or use a constant`;
    }
    if (!scope.loopVisible)
      return `${written} resolves only in the step's inputs, not in its loop or if`;
    return undefined;
  }
  if (
    segments.length === 3 &&
    head === "loop" &&
    (member === step.loopName || index.loops.has(member ?? ""))
  ) {
    return `${written}: a named loop is referenced by its name, write {{ ${member}.${segments[2]} }}`;
  }
  const chain = CHAIN.exec(expression);
  if (!chain) {
    return `${written} is not a reference AWSTOE resolves: use {{ Name }} (a constant or parameter), {{ loop.value }}, or {{ phase.step.outputs.field }}`;
  }
  const [, phaseName = "", stepName = "", kind, entry, field = ""] = chain;
  const steps = index.stepsByPhase.get(phaseName);
  if (!steps)
    return `${written} names phase "${phaseName}", which this document does not have${didYouMean(phaseName, index.stepsByPhase.keys())}`;
  const target = steps.get(stepName);
  if (!target)
    return `${written} names no step of phase "${phaseName}"${didYouMean(stepName, steps.keys()) || ": chain from a step defined earlier"}`;
  const earlier =
    target.phaseIndex < step.phaseIndex ||
    (target.phaseIndex === step.phaseIndex && target.index < step.index);
  if (target === step) return `${written} refers to its own step: chain only from earlier steps`;
  if (!earlier)
    return `${written} refers to ${title(target)}, which runs after ${title(step)}: chain only from earlier steps`;
  if (TEST_STAGE.has(step.phase ?? "") && BUILD_STAGE.has(phaseName)) {
    return `${written} chains from the ${phaseName} phase into ${step.phase}: Image Builder runs the test stage separately and cannot resolve it; repeat the step in ${step.phase}`;
  }
  const spec = target.spec;
  if (!spec) return undefined;
  if (kind === "outputs") {
    if (spec.outputs.length === 0) {
      return `${written}: ${title(target)} runs ${spec.name}, which has no outputs (those with outputs: ${ACTIONS_WITH_OUTPUTS.join(", ")})`;
    }
    if (!spec.outputs.includes(field))
      return `${written}: ${spec.name} outputs ${spec.outputs.join(", ")}${didYouMean(field, spec.outputs)}`;
    return undefined;
  }
  if (spec.form === "expression") return undefined;
  if (!spec.inputNames.includes(field))
    return `${written}: ${spec.name} has no input "${field}"${didYouMean(field, spec.inputNames)}`;
  if (spec.form === "list" && entry === undefined)
    return `${written}: the inputs of ${spec.name} are a list, write inputs[0].${field}`;
  if (spec.form === "map" && entry !== undefined)
    return `${written}: the inputs of ${spec.name} are a mapping, write inputs.${field}`;
  const inputs = target.fields.inputs;
  if (entry !== undefined && Array.isArray(inputs) && Number(entry) >= inputs.length) {
    return `${written}: ${title(target)} has ${inputs.length} input entr${inputs.length === 1 ? "y" : "ies"} (indexes from 0)`;
  }
  return undefined;
};

/** The scalars under a node, with the text they were written as. */
const scalarsUnder = (node: unknown, found: Node[] = []): Node[] => {
  if (isScalar(node)) found.push(node);
  else if (isMap(node)) for (const pair of node.items) scalarsUnder(pair.value, found);
  else if (isSeq(node)) for (const item of node.items) scalarsUnder(item, found);
  return found;
};

const checkScalars = (
  source: ComponentSource,
  path: DocumentPath,
  scope: Scope,
  index: Index,
): void => {
  const root = source.document.getIn(path as unknown[], true);
  for (const node of scalarsUnder(root)) {
    if (!isScalar(node) || typeof node.value !== "string" || !node.value.includes("{{")) continue;
    const [start = 0, end = start] = node.range ?? [];
    const raw = source.text.slice(start, end);
    let searchFrom = 0;
    for (const match of node.value.matchAll(REFERENCE)) {
      const expression = match[1] ?? "";
      const at = raw.indexOf(match[0], searchFrom);
      if (at >= 0) searchFrom = at + match[0].length;
      if (!NAME_PATH.test(expression)) continue;
      const message = problem(expression, scope, index);
      if (message) reportAt(source, at >= 0 ? start + at : start, message);
    }
  }
};

/**
 * `- {{ Name }}` unquoted is a YAML flow mapping, not a string: "The reference in the YAML
 * document must be specified as a string (enclosed in single or double quotes)".
 */
const checkUnquoted = (source: ComponentSource): number[] => {
  const offsets: number[] = [];
  visit(source.document, {
    Map: (_, node) => {
      if (!node.flow || !node.items.some((pair) => isMap(pair.key) || isAlias(pair.key)))
        return undefined;
      const [start = 0, end = start] = node.range ?? [];
      const written = source.text.slice(start, end).trim();
      reportAt(
        source,
        start,
        `${written} is read by YAML as a mapping: quote it, '${written}' (a reference must be a quoted string)`,
      );
      offsets.push(start);
      return visit.SKIP;
    },
  });
  return offsets;
};

/**
 * Checks the references of every step; returns the offsets of unquoted references, whose
 * "must be a string" from the schema pass says the same thing less helpfully.
 */
export const checkReferences = (
  source: ComponentSource,
  phases: readonly PhaseOutline[],
): number[] => {
  const unquoted = checkUnquoted(source);
  const index = indexOf(source, phases);
  for (const phase of phases) {
    for (const step of phase.steps) {
      checkScalars(source, [...step.path, "inputs"], { step, loopVisible: true }, index);
      checkScalars(source, [...step.path, "loop", "forEach"], { step, loopVisible: false }, index);
      checkScalars(source, [...step.path, "if"], { step, loopVisible: false }, index);
    }
  }
  return unquoted;
};
