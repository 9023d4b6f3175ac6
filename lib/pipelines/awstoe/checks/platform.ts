import type { ComponentPlatform } from "../actions/index.ts";
import { isRecord, type PhaseOutline } from "../outline.ts";
import { type ComponentSource, keyNodeAt, nodeAt, reportNode } from "../source.ts";

/** The module to use instead on the other platform, where there is one. */
const COUNTERPART: Readonly<Record<string, string>> = {
  ExecuteBash: "ExecutePowerShell",
  ExecutePowerShell: "ExecuteBash",
};

const list = (platforms: readonly string[]): string =>
  platforms.length === 1
    ? (platforms[0] ?? "")
    : `${platforms.slice(0, -1).join(", ")} and ${platforms.at(-1)}`;

/**
 * Platform compatibility: actions the user guide documents for some operating systems only
 * (the `platforms` of each ActionSpec, with its source), and inputs a platform refuses.
 */
export const checkPlatform = (
  source: ComponentSource,
  phases: readonly PhaseOutline[],
  platform: ComponentPlatform,
): void => {
  for (const phase of phases) {
    for (const step of phase.steps) {
      const spec = step.spec;
      if (!spec) continue;
      if (!spec.platforms.includes(platform)) {
        const counterpart = COUNTERPART[spec.name];
        const fix = counterpart
          ? `use ${counterpart}`
          : `remove the step, or build this component for ${list(spec.platforms)}`;
        reportNode(
          source,
          nodeAt(source, [...step.path, "action"]).node,
          `${spec.name} does not run on ${platform} (it runs on ${list(spec.platforms)}): ${fix}`,
        );
        continue;
      }
      const refused = spec.unsupportedInputs;
      if (!refused || refused.platform !== platform) continue;
      const inputs = step.fields.inputs;
      const entries = Array.isArray(inputs)
        ? inputs.map((entry, index) => ({ entry, path: [index] }))
        : [{ entry: inputs, path: [] }];
      for (const { entry, path } of entries) {
        if (!isRecord(entry)) continue;
        for (const name of refused.names) {
          if (entry[name] === undefined) continue;
          reportNode(
            source,
            keyNodeAt(source, [...step.path, "inputs", ...path], name),
            `input "${name}" of ${spec.name} is not supported on ${platform}: remove it`,
          );
        }
      }
    }
  }
};
