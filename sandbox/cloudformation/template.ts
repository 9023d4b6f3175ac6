import { parseCloudFormationYaml } from "../../lib/deployment/cloudformation.ts";
import { awsError } from "../model/errors.ts";
import { isKnownType, schemaOf } from "./resource-types.ts";

/**
 * A template as CloudFormation reads it before anything is deployed: JSON or YAML ("CloudFormation
 * first checks if the template is valid JSON. If it isn't, CloudFormation checks if the template
 * is valid YAML", API reference, ValidateTemplate), its resources, the references between them
 * (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`) and the order they can be created in. What
 * CloudFormation refuses here it refuses as the CreateChangeSet call's ValidationError.
 */

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly Condition?: string;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface Template {
  readonly Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string }>;
  readonly Description?: string;
}

const PSEUDO_PARAMETERS = new Set([
  "AWS::AccountId",
  "AWS::Region",
  "AWS::Partition",
  "AWS::StackName",
  "AWS::StackId",
  "AWS::URLSuffix",
  "AWS::NoValue",
  "AWS::NotificationARNs",
]);

/** Types the sandbox can deploy (their provisioners, provisioners.ts). */
export const MODELLED_TYPES = new Set([
  "AWS::ImageBuilder::Component",
  "AWS::ImageBuilder::ImageRecipe",
  "AWS::ImageBuilder::InfrastructureConfiguration",
  "AWS::ImageBuilder::DistributionConfiguration",
  "AWS::ImageBuilder::ImagePipeline",
]);

const formatError = (message: string) =>
  awsError("ValidationError", `Template format error: ${message}`);

export const parseTemplate = (body: string): Template => {
  let template: unknown;
  try {
    template = JSON.parse(body);
  } catch {
    try {
      template = parseCloudFormationYaml(body);
    } catch (error) {
      throw formatError(`YAML not well-formed. ${(error as Error).message.split("\n")[0]}`);
    }
  }
  if (!template || typeof template !== "object" || Array.isArray(template))
    throw formatError("JSON not well-formed.");
  const resources = (template as { Resources?: unknown }).Resources;
  if (!resources || typeof resources !== "object" || Object.keys(resources).length === 0)
    throw formatError("At least one Resources member must be defined.");
  return template as Template;
};

/** The logical ids and `Id.Attribute`s a node refers to. */
export interface References {
  readonly refs: Set<string>;
  readonly getAtts: Set<string>;
}

export const referencesOf = (
  node: unknown,
  into: References = { refs: new Set(), getAtts: new Set() },
): References => {
  if (Array.isArray(node)) {
    for (const item of node) referencesOf(item, into);
    return into;
  }
  if (!node || typeof node !== "object") return into;
  const entries = Object.entries(node);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key === "Ref" && typeof argument === "string")
    into.refs.add(argument);
  else if (entries.length === 1 && key === "Fn::GetAtt") {
    const [id, ...attribute] = Array.isArray(argument)
      ? (argument as string[])
      : String(argument).split(".");
    into.getAtts.add(`${id}.${attribute.join(".")}`);
  } else if (entries.length === 1 && key === "Fn::Sub") {
    const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
    for (const [, name = ""] of String(text).matchAll(/\$\{([^}!]+)\}/g)) {
      if (name in (variables as object)) continue;
      if (name.includes(".")) into.getAtts.add(name);
      else into.refs.add(name);
    }
    referencesOf(variables, into);
  } else for (const [, child] of entries) referencesOf(child, into);
  return into;
};

/** The resources a resource depends on: its references and its `DependsOn`. */
export const dependenciesOf = (template: Template, logicalId: string): Set<string> => {
  const resource = template.Resources[logicalId];
  const references = referencesOf(resource?.Properties ?? {});
  const dependsOn = resource?.DependsOn;
  return new Set(
    [
      ...references.refs,
      ...[...references.getAtts].map((name) => name.split(".")[0] ?? ""),
      ...(Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : []),
    ].filter((id) => id in template.Resources),
  );
};

/** Resources in an order where each comes after what it depends on; a cycle is refused. */
export const creationOrder = (template: Template): string[] => {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === "done") return;
    if (state.get(id) === "visiting")
      throw awsError(
        "ValidationError",
        `Circular dependency between resources: [${path.slice(path.indexOf(id)).join(", ")}]`,
      );
    state.set(id, "visiting");
    for (const dependency of [...dependenciesOf(template, id)].sort())
      visit(dependency, [...path, id]);
    state.set(id, "done");
    order.push(id);
  };
  for (const id of Object.keys(template.Resources).sort()) visit(id, []);
  return order;
};

/**
 * What CloudFormation refuses before it looks at any property: unknown resource types, references
 * to nothing, attributes a type does not have, a cycle. A type CloudFormation knows but the sandbox
 * cannot deploy is the sandbox's limit, said so (SandboxNotModelled), never silently skipped.
 */
export const checkTemplate = (template: Template): void => {
  const resources = template.Resources;
  const unknown = Object.values(resources)
    .map((resource) => resource?.Type)
    .filter((type) => typeof type !== "string" || !isKnownType(type));
  if (unknown.length > 0)
    throw formatError(`Unrecognized resource types: [${[...new Set(unknown)].join(", ")}]`);
  const unmodelled = Object.values(resources)
    .map((resource) => resource.Type)
    .filter((type) => !MODELLED_TYPES.has(type));
  if (unmodelled.length > 0)
    throw awsError(
      "SandboxNotModelled",
      `the sandbox's CloudFormation deploys ${[...MODELLED_TYPES].join(", ")} only, not ${[...new Set(unmodelled)].join(", ")}`,
      501,
    );
  const parameters = new Set(Object.keys(template.Parameters ?? {}));
  const unresolved = new Set<string>();
  for (const resource of Object.values(resources)) {
    const references = referencesOf(resource.Properties ?? {});
    for (const ref of references.refs)
      if (!(ref in resources) && !parameters.has(ref) && !PSEUDO_PARAMETERS.has(ref))
        unresolved.add(ref);
    for (const getAtt of references.getAtts) {
      const [target = "", ...rest] = getAtt.split(".");
      const targetResource = resources[target];
      if (!targetResource) {
        unresolved.add(target);
        continue;
      }
      const attribute = rest.join(".");
      const known = schemaOf(targetResource.Type)?.attributes ?? [];
      if (!known.includes(attribute))
        throw awsError(
          "ValidationError",
          `Template error: resource ${target} does not support attribute type ${attribute} in Fn::GetAtt`,
        );
    }
    const dependsOn = resource.DependsOn;
    for (const target of Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : [])
      if (!(target in resources))
        throw formatError(
          `Unresolved resource dependencies [${target}] in the Resources block of the template`,
        );
  }
  if (unresolved.size > 0)
    throw formatError(
      `Unresolved resource dependencies [${[...unresolved].join(", ")}] in the Resources block of the template`,
    );
  creationOrder(template);
};

/**
 * The parameter values a stack is deployed with: given ones, else defaults; a parameter without
 * either, or a given one the template does not declare, is refused (API reference,
 * CreateChangeSet Parameters; the ValidationError CloudFormation answers).
 */
export const parameterValues = (
  template: Template,
  given: ReadonlyArray<{
    ParameterKey?: string;
    ParameterValue?: string;
    UsePreviousValue?: boolean;
  }>,
  previous: Record<string, string> = {},
): Record<string, string> => {
  const declared = template.Parameters ?? {};
  const undeclared = given.map((p) => String(p.ParameterKey)).filter((key) => !(key in declared));
  if (undeclared.length > 0)
    throw awsError(
      "ValidationError",
      `Parameters: [${undeclared.join(", ")}] do not exist in the template`,
    );
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, parameter] of Object.entries(declared)) {
    const entry = given.find((p) => p.ParameterKey === name);
    const value = entry?.UsePreviousValue
      ? previous[name]
      : (entry?.ParameterValue ??
        (parameter.Default !== undefined ? String(parameter.Default) : undefined));
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0)
    throw awsError("ValidationError", `Parameters: [${missing.join(", ")}] must have values`);
  return values;
};
