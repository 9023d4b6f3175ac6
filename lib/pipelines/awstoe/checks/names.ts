import { isRecord, type PhaseOutline } from "../outline.ts";
import {
  type ComponentSource,
  type DocumentPath,
  keyNodeAt,
  nodeAt,
  reportNode,
} from "../source.ts";

/**
 * Names that must be unique (toe-use-documents.html "Each phase name must be unique within a
 * document", "The step name must be unique for the phase"; toe-looping-constructs.html a loop name
 * "must be unique compared to other loop names in the same phase"; toe-user-defined-variables.html
 * a constant or parameter name "must not be the same as any other parameter names or constants").
 */

const lineOf = (source: ComponentSource, path: DocumentPath): number => {
  const offset = nodeAt(source, path).node?.range?.[0] ?? 0;
  return source.lineCounter.linePos(offset).line;
};

/** Reports every repeat of a name after its first use. */
const unique = (
  source: ComponentSource,
  entries: readonly { name: string | undefined; path: DocumentPath }[],
  message: (name: string, firstLine: number) => string,
): void => {
  const first = new Map<string, DocumentPath>();
  for (const { name, path } of entries) {
    if (name === undefined) continue;
    const earlier = first.get(name);
    if (earlier)
      reportNode(source, nodeAt(source, path).node, message(name, lineOf(source, earlier)));
    else first.set(name, path);
  }
};

export const checkNames = (source: ComponentSource, phases: readonly PhaseOutline[]): void => {
  unique(
    source,
    phases.map((phase) => ({ name: phase.name, path: [...phase.path, "name"] })),
    (name, line) =>
      `phase "${name}" is already defined at line ${line}: a phase name appears once; merge the steps into it`,
  );
  if (phases.length > 0 && phases.every((phase) => phase.name === "container-host-test")) {
    reportNode(
      source,
      nodeAt(source, ["phases"]).node,
      "a component needs a build, validate or test phase (toe-use-documents.html, rules for phases)",
    );
  }
  for (const phase of phases) {
    const title = phase.name ? `phase "${phase.name}"` : "this phase";
    unique(
      source,
      phase.steps.map((step) => ({ name: step.name, path: [...step.path, "name"] })),
      (name, line) =>
        `duplicate step name "${name}" in ${title} (first at line ${line}): rename one, step names are unique within a phase`,
    );
    unique(
      source,
      phase.steps.map((step) => ({ name: step.loopName, path: [...step.path, "loop", "name"] })),
      (name, line) =>
        `duplicate loop name "${name}" in ${title} (first at line ${line}): loop names are unique within a phase`,
    );
  }
  const value = source.value;
  if (!isRecord(value)) return;
  const variables: { name: string | undefined; path: DocumentPath }[] = [];
  for (const section of ["constants", "parameters"] as const) {
    const list = value[section];
    if (!Array.isArray(list)) continue;
    list.forEach((entry, index) => {
      if (!isRecord(entry)) return;
      for (const name of Object.keys(entry)) variables.push({ name, path: [section, index, name] });
    });
  }
  const first = new Map<string, DocumentPath>();
  for (const { name, path } of variables) {
    if (name === undefined) continue;
    const earlier = first.get(name);
    if (!earlier) {
      first.set(name, path);
      continue;
    }
    const kind = earlier[0] === "constants" ? "constant" : "parameter";
    reportNode(
      source,
      keyNodeAt(source, path.slice(0, -1), name),
      `"${name}" is already defined as a ${kind} at line ${lineOf(source, earlier.slice(0, -1))}: constant and parameter names are unique`,
    );
  }
};
