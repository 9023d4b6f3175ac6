/**
 * Names of the image stack and of its resources. Logical ids derive from names only (never from
 * versions or content), so a changed component is the same resource replaced, not a new one.
 */

/** CloudFormation stack names: a letter, then letters, digits and hyphens (≤128). */
const STAGE = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,80}$/;

export const stageProblem = (stage: string): string | undefined =>
  STAGE.test(stage)
    ? undefined
    : `stage ${JSON.stringify(stage)} must be letters, digits and hyphens (it names the stack)`;

export const imageStackName = (stage: string): string => `ami-orchestrator-${stage}-images`;

export const templateFileName = (stage: string): string => `${imageStackName(stage)}.template.json`;

/** `base-al2023` → `BaseAl2023`: logical ids are alphanumeric. */
export const pascal = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

export const logicalIds = (pipelineName: string) => {
  const base = pascal(pipelineName);
  return {
    pipeline: `${base}Pipeline`,
    recipe: `${base}Recipe`,
    infrastructure: `${base}Infrastructure`,
    distribution: `${base}Distribution`,
    component: (componentFile: string) =>
      `${base}Component${pascal(componentFile.replace(/^.*\//, "").replace(/\.ya?ml$/, ""))}`,
  };
};

/** Tag keys the stack and the builds write (API model `TagKey`: no `aws:` prefix). */
export const TAG = {
  pipeline: "ami-orchestrator:pipeline",
  inputHash: "ami-orchestrator:input-hash",
  source: "ami-orchestrator:source",
  commit: "ami-orchestrator:commit",
  ref: "ami-orchestrator:ref",
  repository: "ami-orchestrator:repository",
} as const;
