import type { Change, CloudFormationClient, ResourceChange } from "@aws-sdk/client-cloudformation";
import type { ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { errorMessage } from "../errors.ts";
import { decideBuild, lastImageOf } from "./build.ts";
import {
  type ChangeSetRequest,
  type CreatedChangeSet,
  createChangeSet,
  discardChangeSet,
} from "./change-set.ts";
import { forcesReplacement, type ImageResourceType } from "./replacement.ts";
import type { Synthesized, SynthesizedPipeline } from "./synth.ts";

/**
 * `npm run pipelines -- plan`: what a deploy would do, read from a CloudFormation change set
 * that is then deleted, told per pipeline: which components get a new version or build, whether
 * the recipe is replaced (a new recipe version), whether the pipeline is updated in place, and
 * whether `build --changed` would then start a build.
 */

export type ResourceOutcome = "created" | "replaced" | "updated in place" | "removed" | "unchanged";

export interface ResourcePlan {
  readonly logicalId: string;
  /** The resource type, when the change set names it. */
  readonly type?: string;
  readonly outcome: ResourceOutcome;
  /** Changed properties, as the change set lists them. */
  readonly properties: readonly string[];
  /** Of those, the ones that replace this resource type (resource schema createOnlyProperties). */
  readonly replacedBy: readonly string[];
}

export interface ComponentPlan extends ResourcePlan {
  readonly name: string;
  /** A replaced component keeps its version: Image Builder gives it the next build number. */
  readonly versioning?: "new version" | "new build" | "first version";
}

export interface PipelinePlan {
  readonly name: string;
  readonly arn: string;
  readonly components: readonly ComponentPlan[];
  readonly recipe: ResourcePlan;
  readonly infrastructure: ResourcePlan;
  readonly distribution: ResourcePlan;
  readonly pipeline: ResourcePlan;
  readonly build: { readonly start: boolean | "unknown"; readonly reason: string };
}

export interface Plan {
  readonly stackName: string;
  readonly changeSetName: string;
  readonly changeSetType: "CREATE" | "UPDATE";
  readonly noChanges: boolean;
  readonly pipelines: readonly PipelinePlan[];
  /** Changes to resources no current pipeline owns: a pipeline or component taken out. */
  readonly others: readonly ResourcePlan[];
}

export interface PlanDeps {
  readonly cloudFormation: CloudFormationClient;
  /** To tell whether a build would start; without it, plan says it cannot tell. */
  readonly imageBuilder?: ImagebuilderClient;
}

const changedProperties = (change: ResourceChange): string[] => [
  ...new Set(
    (change.Details ?? [])
      .filter((detail) => detail.Target?.Attribute === "Properties" && detail.Target.Name)
      .map((detail) => detail.Target?.Name ?? ""),
  ),
];

const resourcePlan = (logicalId: string, change: ResourceChange | undefined): ResourcePlan => {
  if (change === undefined)
    return { logicalId, outcome: "unchanged", properties: [], replacedBy: [] };
  const properties = changedProperties(change);
  const type = change.ResourceType as ImageResourceType;
  const replacedBy = forcesReplacement(type, properties);
  const outcome: ResourceOutcome =
    change.Action === "Add"
      ? "created"
      : change.Action === "Remove"
        ? "removed"
        : change.Replacement === "True" || change.Replacement === "Conditional"
          ? "replaced"
          : "updated in place";
  return { logicalId, type, outcome, properties, replacedBy };
};

const componentPlan = (plan: ResourcePlan, name: string): ComponentPlan => {
  const versioning =
    plan.outcome === "created"
      ? "first version"
      : plan.outcome === "replaced"
        ? plan.properties.includes("Version")
          ? "new version"
          : "new build"
        : undefined;
  return { ...plan, name, ...(versioning ? { versioning } : {}) };
};

const buildPlan = async (
  deps: PlanDeps,
  pipeline: SynthesizedPipeline,
  created: boolean,
): Promise<PipelinePlan["build"]> => {
  if (created) return { start: true, reason: "new pipeline: its first image" };
  if (!deps.imageBuilder) return { start: "unknown", reason: "images not read" };
  try {
    const decision = decideBuild(
      await lastImageOf(deps.imageBuilder, pipeline.arn),
      pipeline.inputHash,
    );
    return { start: decision.start, reason: decision.reason };
  } catch (error) {
    return { start: "unknown", reason: `cannot read its images: ${errorMessage(error)}` };
  }
};

/** Reads a change set (already created) into a per-pipeline plan. */
export const planFromChangeSet = async (
  deps: PlanDeps,
  synthesized: Synthesized,
  changeSet: CreatedChangeSet,
): Promise<Plan> => {
  const byId = new Map<string, ResourceChange>();
  for (const change of changeSet.changes as Change[]) {
    const resource = change.ResourceChange;
    if (resource?.LogicalResourceId) byId.set(resource.LogicalResourceId, resource);
  }
  const owned = new Set<string>();
  const take = (logicalId: string) => {
    owned.add(logicalId);
    return resourcePlan(logicalId, byId.get(logicalId));
  };
  const pipelines: PipelinePlan[] = [];
  for (const pipeline of synthesized.pipelines) {
    const ids = pipeline.logicalIds;
    const components = Object.entries(ids.components).map(([id, name]) =>
      componentPlan(take(id), name),
    );
    const recipe = take(ids.recipe);
    const infrastructure = take(ids.infrastructure);
    const distribution = take(ids.distribution);
    const pipelinePlan = take(ids.pipeline);
    pipelines.push({
      name: pipeline.name,
      arn: pipeline.arn,
      components,
      recipe,
      infrastructure,
      distribution,
      pipeline: pipelinePlan,
      build: await buildPlan(deps, pipeline, pipelinePlan.outcome === "created"),
    });
  }
  const others = [...byId.keys()]
    .filter((id) => !owned.has(id))
    .sort()
    .map((id) => resourcePlan(id, byId.get(id)));
  return {
    stackName: changeSet.stackName,
    changeSetName: changeSet.changeSetName,
    changeSetType: changeSet.changeSetType,
    noChanges: changeSet.noChanges,
    pipelines,
    others,
  };
};

/** Creates the change set, reads it, and deletes it (and the empty stack a first plan makes). */
export const planDeploy = async (
  deps: PlanDeps,
  synthesized: Synthesized,
  request: ChangeSetRequest,
): Promise<Plan> => {
  const changeSet = await createChangeSet(deps.cloudFormation, request);
  try {
    return await planFromChangeSet(deps, synthesized, changeSet);
  } finally {
    await discardChangeSet(deps.cloudFormation, changeSet);
  }
};

const because = (plan: ResourcePlan): string =>
  plan.properties.length === 0
    ? ""
    : ` (${(plan.replacedBy.length > 0 ? plan.replacedBy : plan.properties).join(", ")})`;

/** The plan as a reader wants it, one pipeline after another. */
export const renderPlan = (plan: Plan): string[] => {
  const lines = [
    `${plan.stackName}: ${plan.changeSetType === "CREATE" ? "new stack" : "update"}${plan.noChanges ? ", no changes" : ""} (change set ${plan.changeSetName}, deleted)`,
  ];
  for (const pipeline of plan.pipelines) {
    lines.push(`  ${pipeline.name}`);
    for (const component of pipeline.components) {
      const what =
        component.versioning === undefined
          ? component.outcome
          : `${component.outcome}: ${component.versioning}`;
      lines.push(`    component ${component.name}: ${what}${because(component)}`);
    }
    const recipe =
      pipeline.recipe.outcome === "replaced"
        ? "replaced: a new recipe version (the previous one is retained)"
        : pipeline.recipe.outcome;
    lines.push(`    recipe: ${recipe}${because(pipeline.recipe)}`);
    lines.push(
      `    infrastructure: ${pipeline.infrastructure.outcome}${because(pipeline.infrastructure)}`,
    );
    lines.push(
      `    distribution: ${pipeline.distribution.outcome}${because(pipeline.distribution)}`,
    );
    lines.push(`    pipeline: ${pipeline.pipeline.outcome}${because(pipeline.pipeline)}`);
    const build =
      pipeline.build.start === "unknown"
        ? `cannot tell (${pipeline.build.reason})`
        : pipeline.build.start
          ? `would start (${pipeline.build.reason})`
          : `none (${pipeline.build.reason})`;
    lines.push(`    build after deploy: ${build}`);
  }
  for (const other of plan.others) {
    // Components and recipes are retained (synth.ts): the stack forgets them, Image Builder keeps them.
    const retained =
      other.type === "AWS::ImageBuilder::Component" ||
      other.type === "AWS::ImageBuilder::ImageRecipe";
    const removed = retained ? "removed from the stack, retained in Image Builder" : "deleted";
    lines.push(`  ${other.logicalId}: ${other.outcome === "removed" ? removed : other.outcome}`);
  }
  return lines;
};
