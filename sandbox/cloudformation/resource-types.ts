import { readFileSync } from "node:fs";

/**
 * CloudFormation's resource provider schemas, as resource-schemas.json carries them (generated
 * from cfn-lint by generate-resource-schemas.ts): which types exist, which properties force a
 * replacement (`createOnlyProperties`), which attributes `Fn::GetAtt` may name, and the property
 * schemas a template's properties are validated against, as CloudFormation's pre-deployment
 * "property syntax validation against resource schemas" does (CloudFormation user guide,
 * "Validate stack deployments").
 */

// biome-ignore lint/suspicious/noExplicitAny: a JSON schema is free-form
type JsonSchema = Record<string, any>;

export interface ResourceSchema {
  readonly createOnlyProperties: readonly string[];
  readonly readOnlyProperties: readonly string[];
  readonly writeOnlyProperties: readonly string[];
  readonly required: readonly string[];
  readonly primaryIdentifier: readonly string[];
  readonly attributes: readonly string[];
  readonly tagging: { readonly tagProperty?: string; readonly taggable?: boolean };
  readonly additionalProperties: boolean;
  readonly properties: Readonly<Record<string, JsonSchema>>;
  readonly definitions: Readonly<Record<string, JsonSchema>>;
}

export const RESOURCE_SCHEMAS: {
  readonly source: string;
  readonly resourceTypes: readonly string[];
  readonly schemas: Readonly<Record<string, ResourceSchema>>;
} = JSON.parse(readFileSync(new URL("./resource-schemas.json", import.meta.url), "utf8"));

const KNOWN_TYPES = new Set(RESOURCE_SCHEMAS.resourceTypes);

/** A type CloudFormation knows (in us-east-1, per the schemas); others are refused. */
export const isKnownType = (type: string): boolean =>
  KNOWN_TYPES.has(type) ||
  type.startsWith("Custom::") ||
  type === "AWS::CloudFormation::CustomResource";

export const schemaOf = (type: string): ResourceSchema | undefined =>
  RESOURCE_SCHEMAS.schemas[type];

/** The top-level properties whose change replaces the resource (`/properties/Name` → `Name`). */
export const createOnlyProperties = (schema: ResourceSchema): Set<string> =>
  new Set(schema.createOnlyProperties.map((pointer) => pointer.split("/")[2] ?? ""));

/** The tags property, whose changes CloudFormation scopes as `Tags` (schema `tagging`). */
export const tagProperty = (schema: ResourceSchema): string | undefined =>
  schema.tagging.tagProperty?.split("/")[2];

/**
 * A value CloudFormation cannot know before executing (an attribute of a resource to create):
 * `{{sandbox-unknown:Ref:<id>}}` or `{{sandbox-unknown:GetAtt:<id>.<attribute>}}` in a resolved value.
 */
export const UNKNOWN = "{{sandbox-unknown:";
const isUnknown = (value: unknown) => typeof value === "string" && value.includes(UNKNOWN);

const resolveRef = (node: JsonSchema, definitions: ResourceSchema["definitions"]): JsonSchema => {
  let current = node;
  for (let depth = 0; typeof current.$ref === "string" && depth < 20; depth += 1)
    current = definitions[current.$ref.replace("#/definitions/", "")] ?? {};
  return current;
};

/**
 * Template values are strings as often as not (`"true"`, `"30"`): CloudFormation converts them to
 * the type the schema declares before calling the service.
 */
const coerce = (value: unknown, type: unknown): unknown => {
  if (typeof value !== "string") return value;
  if (type === "boolean" && (value === "true" || value === "false")) return value === "true";
  if (
    (type === "integer" || type === "number") &&
    value.trim() !== "" &&
    !Number.isNaN(Number(value))
  )
    return Number(value);
  return value;
};

const typeName = (value: unknown) =>
  Array.isArray(value)
    ? "JSONArray"
    : value === null
      ? "Null"
      : typeof value === "object"
        ? "JSONObject"
        : typeof value === "number"
          ? Number.isInteger(value)
            ? "Integer"
            : "Number"
          : typeof value === "boolean"
            ? "Boolean"
            : "String";

const matches = (pattern: string, value: string): boolean => {
  try {
    return new RegExp(pattern, "u").test(value);
  } catch {
    return true; // a pattern JavaScript cannot compile is not held against the template
  }
};

export interface PropertyViolation {
  /** Where, as CloudFormation's validation events point: `/Resources/<id>/Properties/<path>`. */
  readonly path: string;
  readonly message: string;
}

/**
 * Violations of the schema's `properties`: unknown properties (`additionalProperties: false`),
 * missing required ones, types, enums, patterns, lengths and item counts, recursively through
 * `$ref`. `anyOf`/`oneOf` and `format` are not checked. Values only known after apply are skipped.
 */
export const propertyViolations = (
  schema: ResourceSchema,
  properties: Record<string, unknown>,
  base: string,
): PropertyViolation[] => {
  const violations: PropertyViolation[] = [];
  const check = (value: unknown, node: JsonSchema, path: string) => {
    const rule = resolveRef(node, schema.definitions);
    if (isUnknown(value)) return;
    const type = rule.type;
    const coerced = coerce(value, type);
    const actual = typeName(coerced);
    const expected: Record<string, string> = {
      string: "String",
      integer: "Integer",
      number: "Number",
      boolean: "Boolean",
      array: "JSONArray",
      object: "JSONObject",
    };
    if (
      typeof type === "string" &&
      expected[type] &&
      !(type === "number" && actual === "Integer")
    ) {
      if (expected[type] !== actual) {
        violations.push({ path, message: `expected type: ${expected[type]}, found: ${actual}` });
        return;
      }
    }
    if (rule.enum && !rule.enum.includes(coerced))
      violations.push({ path, message: `${String(coerced)} is not a valid enum value` });
    if (typeof coerced === "string") {
      if (rule.pattern && !matches(rule.pattern, coerced))
        violations.push({
          path,
          message: `string [${coerced}] does not match pattern ${rule.pattern}`,
        });
      if (rule.minLength !== undefined && coerced.length < rule.minLength)
        violations.push({
          path,
          message: `expected minLength: ${rule.minLength}, actual: ${coerced.length}`,
        });
      if (rule.maxLength !== undefined && coerced.length > rule.maxLength)
        violations.push({
          path,
          message: `expected maxLength: ${rule.maxLength}, actual: ${coerced.length}`,
        });
    }
    if (typeof coerced === "number") {
      if (rule.minimum !== undefined && coerced < rule.minimum)
        violations.push({ path, message: `${coerced} is not greater or equal to ${rule.minimum}` });
      if (rule.maximum !== undefined && coerced > rule.maximum)
        violations.push({ path, message: `${coerced} is not less or equal to ${rule.maximum}` });
    }
    if (Array.isArray(coerced)) {
      if (rule.minItems !== undefined && coerced.length < rule.minItems)
        violations.push({
          path,
          message: `expected minimum item count: ${rule.minItems}, found: ${coerced.length}`,
        });
      if (rule.maxItems !== undefined && coerced.length > rule.maxItems)
        violations.push({
          path,
          message: `expected maximum item count: ${rule.maxItems}, found: ${coerced.length}`,
        });
      if (rule.items)
        for (const [index, item] of coerced.entries()) check(item, rule.items, `${path}/${index}`);
    }
    if (coerced && typeof coerced === "object" && !Array.isArray(coerced))
      checkObject(coerced as Record<string, unknown>, rule, path);
  };
  const checkObject = (value: Record<string, unknown>, rule: JsonSchema, path: string) => {
    for (const name of (rule.required ?? []) as string[])
      if (value[name] === undefined)
        violations.push({ path, message: `Required property [${name}] not found` });
    const declared = (rule.properties ?? {}) as Record<string, JsonSchema>;
    const patterns = Object.entries((rule.patternProperties ?? {}) as Record<string, JsonSchema>);
    for (const [name, item] of Object.entries(value)) {
      if (item === undefined) continue;
      const property = declared[name] ?? patterns.find(([pattern]) => matches(pattern, name))?.[1];
      if (property) check(item, property, `${path}/${name}`);
      else if (rule.additionalProperties === false)
        violations.push({ path, message: `extraneous key [${name}] is not permitted` });
    }
  };
  checkObject(
    properties,
    {
      required: schema.required,
      properties: schema.properties,
      additionalProperties: schema.additionalProperties,
    },
    base,
  );
  return violations;
};

/** CloudFormation's property names where the API spells them otherwise than lower camel case. */
const API_NAMES: Record<string, string> = {
  LaunchPermissionConfiguration: "launchPermission",
};

/**
 * The API request a resource's properties become, as the resource provider translates them:
 * property names in lower camel case (`AmiDistributionConfiguration` →
 * `amiDistributionConfiguration`), free-form maps (tags) kept as they are, and template strings
 * converted to the schema's types. Source: the providers' Translator/RequestUtil classes
 * (aws-cloudformation-resource-providers-imagebuilder); `Version` → `semanticVersion` is the
 * provisioners' (provisioners.ts).
 */
export const toApiInput = (
  schema: ResourceSchema,
  properties: Record<string, unknown>,
): Record<string, unknown> => {
  const convert = (value: unknown, node: JsonSchema | undefined): unknown => {
    const rule = node ? resolveRef(node, schema.definitions) : {};
    const coerced = coerce(value, rule.type);
    if (Array.isArray(coerced)) return coerced.map((item) => convert(item, rule.items));
    if (!coerced || typeof coerced !== "object") return coerced;
    if (!rule.properties) return structuredClone(coerced); // a map: keys are data
    return Object.fromEntries(
      Object.entries(coerced as Record<string, unknown>).map(([name, item]) => [
        API_NAMES[name] ?? `${name.charAt(0).toLowerCase()}${name.slice(1)}`,
        convert(item, rule.properties[name]),
      ]),
    );
  };
  return convert(properties, { type: "object", properties: schema.properties }) as Record<
    string,
    unknown
  >;
};
