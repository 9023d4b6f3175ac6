import { TemplateResolver } from "../iam/cloudformation.ts";
import { awsError } from "../model/errors.ts";
import {
  createOnlyProperties,
  propertyViolations,
  type ResourceSchema,
  schemaOf,
  tagProperty,
  UNKNOWN,
} from "./resource-types.ts";
import type { Change, Stack, ValidationFailure } from "./stack.ts";
import { creationOrder, referencesOf, type Template } from "./template.ts";

/**
 * The changes a change set lists: which resources are added, modified (replaced or not) and
 * removed, and why. Sources: API reference, ResourceChange ("If the RequiresRecreation field is
 * Always and the Evaluation field is Static, Replacement is True. If the RequiresRecreation field
 * is Always and the Evaluation field is Dynamic, Replacement is Conditional", "the change with the
 * most impact") and ResourceChangeDetail (ChangeSource: ResourceReference for a `Ref` to a
 * resource, ParameterReference, ResourceAttribute for `Fn::GetAtt`, DirectModification; Dynamic
 * evaluation when "CloudFormation cannot determine the target value because it depends on the
 * result of an intrinsic function"); whether a property requires recreation comes from the
 * resource schema's createOnlyProperties (resource-schemas.json). A value known only after apply
 * shows as `{{changeSet:KNOWN_AFTER_APPLY}}` in AfterContext (CloudFormation user guide, change
 * sets with property values).
 */

export const KNOWN_AFTER_APPLY = "{{changeSet:KNOWN_AFTER_APPLY}}";

const SENTINEL = /\{\{sandbox-unknown:(Ref|GetAtt):([^}]+)\}\}/g;

/** What `Ref` and each attribute of a resource CloudFormation has yet to create give. */
const unknownAttributes = (logicalId: string, schema: ResourceSchema | undefined) =>
  Object.fromEntries([
    ["Ref", `${UNKNOWN}Ref:${logicalId}}}`],
    ...(schema?.attributes ?? []).map((attribute) => [
      attribute,
      `${UNKNOWN}GetAtt:${logicalId}.${attribute}}}`,
    ]),
  ]);

const json = (value: unknown) => JSON.stringify(value ?? null);
const display = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value ?? null).replace(SENTINEL, KNOWN_AFTER_APPLY));
const text = (value: unknown) => {
  const shown = display(value);
  return typeof shown === "string" ? shown : JSON.stringify(shown);
};

export interface PlannedChanges {
  readonly changes: Change[];
  readonly validationFailures: ValidationFailure[];
  /** Named resources to check for a conflict with existing ones (early validation). */
  readonly namedAdds: Array<{ logicalId: string; type: string; name: string }>;
}

export interface StackContext {
  readonly accountId: string;
  readonly region: string;
  readonly stackName: string;
}

export const resolverFor = (
  template: Template,
  context: StackContext,
  parameters: Record<string, string>,
  resources: Record<string, Record<string, string>>,
) =>
  new TemplateResolver(template as unknown as Record<string, unknown>, {
    accountId: context.accountId,
    region: context.region,
    stackName: context.stackName,
    parameters,
    resources,
  });

export const planChanges = (
  stack: Stack,
  template: Template,
  parameters: Record<string, string>,
): PlannedChanges => {
  const attributes: Record<string, Record<string, string>> = Object.fromEntries(
    [...stack.resources].map(([id, resource]) => [id, resource.attributes]),
  );
  const context = { accountId: stack.accountId, region: stack.region, stackName: stack.name };
  const changedParameters = new Set(
    Object.keys(parameters).filter((name) => stack.parameters[name] !== parameters[name]),
  );
  const changes: Change[] = [];
  const validationFailures: ValidationFailure[] = [];
  const namedAdds: PlannedChanges["namedAdds"] = [];
  const present = new Set<string>();

  for (const logicalId of creationOrder(template)) {
    const resource = template.Resources[logicalId];
    if (!resource) continue;
    const schema = schemaOf(resource.Type) as ResourceSchema;
    const properties = resolverFor(template, context, parameters, attributes).resource(logicalId);
    if (!properties) continue; // its Condition is false: CloudFormation skips it
    present.add(logicalId);
    for (const violation of propertyViolations(
      schema,
      properties,
      `/Resources/${logicalId}/Properties`,
    ))
      validationFailures.push({
        logicalId,
        type: resource.Type,
        path: violation.path,
        reason: violation.message,
      });
    const old = stack.resources.get(logicalId);
    const afterContext = JSON.stringify({ Properties: display(properties) });
    if (!old) {
      attributes[logicalId] = unknownAttributes(logicalId, schema);
      if (typeof properties.Name === "string" && !properties.Name.includes(UNKNOWN))
        namedAdds.push({ logicalId, type: resource.Type, name: properties.Name });
      changes.push({
        Type: "Resource",
        ResourceChange: {
          Action: "Add",
          LogicalResourceId: logicalId,
          ResourceType: resource.Type,
          Scope: [],
          Details: [],
          AfterContext: afterContext,
        },
      });
      continue;
    }
    if (old.type !== resource.Type)
      throw awsError(
        "ValidationError",
        `Update of resource type is not permitted. The new template modifies resource type of the following resources: [${logicalId}]`,
      );
    const createOnly = createOnlyProperties(schema);
    const tags = tagProperty(schema);
    const oldRaw = (stack.template?.Resources[logicalId]?.Properties ?? {}) as Record<
      string,
      unknown
    >;
    const newRaw = (resource.Properties ?? {}) as Record<string, unknown>;
    const details: Array<Record<string, unknown>> = [];
    for (const name of new Set([...Object.keys(old.properties), ...Object.keys(properties)])) {
      const before = old.properties[name];
      const after = properties[name];
      if (json(before) === json(after)) continue;
      const target = () => ({
        ...(name === tags
          ? { Attribute: "Tags" }
          : {
              Attribute: "Properties",
              Name: name,
              RequiresRecreation: createOnly.has(name) ? "Always" : "Never",
            }),
        ...(before !== undefined ? { BeforeValue: text(before) } : {}),
        ...(after !== undefined ? { AfterValue: text(after) } : {}),
      });
      const causes = [...json(after).matchAll(SENTINEL)];
      const rawChanged = json(oldRaw[name]) !== json(newRaw[name]);
      for (const [, kind, entity] of new Map(causes.map((cause) => [cause[2], cause])).values())
        details.push({
          Target: target(),
          Evaluation: "Dynamic",
          ChangeSource: kind === "Ref" ? "ResourceReference" : "ResourceAttribute",
          CausingEntity: entity,
        });
      if (causes.length === 0 || rawChanged) {
        const parameter = [...referencesOf(newRaw[name]).refs].find((ref) =>
          changedParameters.has(ref),
        );
        details.push({
          Target: target(),
          Evaluation: "Static",
          ChangeSource: parameter && !rawChanged ? "ParameterReference" : "DirectModification",
          ...(parameter && !rawChanged ? { CausingEntity: parameter } : {}),
        });
      }
    }
    if (details.length === 0) continue;
    const recreation = (evaluation: string) =>
      details.some(
        (detail) =>
          detail.Evaluation === evaluation &&
          (detail.Target as { RequiresRecreation?: string }).RequiresRecreation === "Always",
      );
    const replacement = recreation("Static")
      ? "True"
      : recreation("Dynamic")
        ? "Conditional"
        : "False";
    if (replacement !== "False") attributes[logicalId] = unknownAttributes(logicalId, schema);
    if (
      replacement === "True" &&
      typeof properties.Name === "string" &&
      !properties.Name.includes(UNKNOWN)
    )
      namedAdds.push({ logicalId, type: resource.Type, name: properties.Name });
    changes.push({
      Type: "Resource",
      ResourceChange: {
        Action: "Modify",
        LogicalResourceId: logicalId,
        PhysicalResourceId: old.physicalId,
        ResourceType: resource.Type,
        Replacement: replacement,
        ...(replacement === "True"
          ? {
              PolicyAction:
                resource.UpdateReplacePolicy === "Retain" ? "ReplaceAndRetain" : "ReplaceAndDelete",
            }
          : {}),
        Scope: [
          ...new Set(details.map((detail) => (detail.Target as { Attribute: string }).Attribute)),
        ],
        Details: details,
        BeforeContext: JSON.stringify({ Properties: old.properties }),
        AfterContext: afterContext,
      },
    });
  }

  for (const [logicalId, old] of stack.resources) {
    if (present.has(logicalId)) continue;
    changes.push({
      Type: "Resource",
      ResourceChange: {
        Action: "Remove",
        LogicalResourceId: logicalId,
        PhysicalResourceId: old.physicalId,
        ResourceType: old.type,
        PolicyAction: old.deletionPolicy === "Retain" ? "Retain" : "Delete",
        Scope: [],
        Details: [],
        BeforeContext: JSON.stringify({ Properties: old.properties }),
      },
    });
  }
  return { changes, validationFailures, namedAdds };
};

/** A Change as DescribeChangeSet shows it: property values only when asked for. */
export const describeChange = (change: Change, includePropertyValues: boolean): Change => {
  if (includePropertyValues) return structuredClone(change);
  const { BeforeContext: _before, AfterContext: _after, Details, ...rest } = change.ResourceChange;
  return {
    Type: "Resource",
    ResourceChange: {
      ...rest,
      Details: (Details as Array<Record<string, unknown>>).map((detail) => {
        const {
          BeforeValue: _b,
          AfterValue: _a,
          ...target
        } = detail.Target as Record<string, unknown>;
        return { ...detail, Target: target };
      }),
    },
  };
};
