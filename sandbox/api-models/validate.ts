import { readFileSync } from "node:fs";
import { SandboxAwsError } from "../model/errors.ts";

/**
 * Requests and responses checked against the AWS API models, as AWS's front end checks every
 * request before the service sees it. The models are the subset of botocore's service-2.json in
 * models.json (regenerate with scripts/generate-api-models.ts). The input checked is the SDK
 * command input (the model's member names, JavaScript values), which is what the SDK serialises.
 */

export interface ShapeRef {
  readonly shape: string;
  readonly idempotencyToken?: boolean;
}

export interface Shape {
  readonly type: string;
  readonly required?: readonly string[];
  readonly members?: Readonly<Record<string, ShapeRef>>;
  readonly member?: string;
  readonly key?: string;
  readonly value?: string;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly union?: boolean;
}

export interface ServiceModel {
  readonly apiVersion: string;
  readonly protocol: string;
  readonly awsQueryCompatible?: boolean;
  readonly operations: Readonly<
    Record<string, { readonly input?: string; readonly output?: string }>
  >;
  readonly shapes: Readonly<Record<string, Shape>>;
}

export interface ApiModels {
  readonly source: string;
  readonly services: Readonly<Record<string, ServiceModel>>;
}

export const API_MODELS: ApiModels = JSON.parse(
  readFileSync(new URL("./models.json", import.meta.url), "utf8"),
);

/** One broken constraint: where (member path as AWS writes it), the value, and the rule. */
export interface Violation {
  readonly path: string;
  readonly value: unknown;
  readonly constraint: string;
  /** A required member is absent (EC2 and SQS answer MissingParameter). */
  readonly missing?: boolean;
}

type Direction = "input" | "output";

/**
 * Output members where AWS answers outside its own model, as its documentation shows; the
 * sandbox answers as AWS does. `service:Shape.member`.
 */
const OUTPUT_DEVIATIONS: ReadonlySet<string> = new Set([
  // ImageSummary.version is a VersionNumber (`^[0-9]+\.[0-9]+\.[0-9]+$`) in the model, but
  // ListImagePipelineImages and ListImageBuildVersions return `<version>/<build>`, e.g.
  // "2019.12.03/7" (AWS CLI reference, imagebuilder list-image-build-versions example).
  "imagebuilder:ImageSummary.version",
]);

const patterns = new Map<string, RegExp>();
/**
 * AWS matches a model's pattern against the whole value (IAM refuses `my role` for
 * `[\w+=,.@-]+`), as Java's String.matches does; `u` reads the models' \p{..} and surrogate pairs.
 */
const patternOf = (source: string): RegExp => {
  let pattern = patterns.get(source);
  if (!pattern) {
    pattern = new RegExp(`^(?:${source})$`, "u");
    patterns.set(source, pattern);
  }
  return pattern;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  !(value instanceof Date) &&
  !(value instanceof Uint8Array);

const present = (value: unknown) => value !== undefined && value !== null;

const describe = (value: unknown): string => {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return value.length > 200 ? `${value.slice(0, 200)}…` : value;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 200 ? `${json.slice(0, 200)}…` : json;
};

/** Every violation of `shapeName` by `value`, depth first, paths as `launchTemplateData.tags.1.key`. */
export const violationsOf = (
  model: ServiceModel & { readonly name?: string },
  shapeName: string,
  value: unknown,
  direction: Direction,
  path = "",
): Violation[] => {
  const shape = model.shapes[shapeName];
  if (!shape) throw new Error(`the API model has no shape ${shapeName}`);
  const at = (suffix: string) => (path ? `${path}.${suffix}` : suffix);
  const broken = (constraint: string): Violation[] => [{ path, value, constraint }];

  switch (shape.type) {
    case "structure": {
      if (!isPlainObject(value)) return broken("Member must be a structure");
      const violations: Violation[] = [];
      const members = shape.members ?? {};
      for (const name of shape.required ?? []) {
        // The SDK fills idempotency tokens while serialising, after the input we see.
        if (direction === "input" && members[name]?.idempotencyToken) continue;
        if (!present(value[name]))
          violations.push({
            path: at(name),
            value: null,
            constraint: "Member must not be null",
            missing: true,
          });
      }
      const set = Object.keys(value).filter((name) => present(value[name]));
      if (shape.union && set.length !== 1)
        violations.push({
          path,
          value: set,
          constraint: "Exactly one member of the union must be set",
        });
      for (const name of set) {
        const member = members[name];
        if (direction === "output" && OUTPUT_DEVIATIONS.has(`${model.name}:${shapeName}.${name}`))
          continue;
        if (!member) {
          violations.push({
            path: at(name),
            value: value[name],
            constraint: `Member is not in the API model of ${shapeName}`,
          });
          continue;
        }
        violations.push(...violationsOf(model, member.shape, value[name], direction, at(name)));
      }
      return violations;
    }
    case "list": {
      if (!Array.isArray(value)) return broken("Member must be a list");
      const violations = sizeViolations(shape, value.length, path, value, "length");
      value.forEach((item, index) => {
        violations.push(
          ...violationsOf(
            model,
            shape.member as string,
            item,
            direction,
            at(`${index + 1}.member`),
          ),
        );
      });
      return violations;
    }
    case "map": {
      if (!isPlainObject(value)) return broken("Member must be a map");
      const entries = Object.entries(value).filter(([, item]) => present(item));
      const violations = sizeViolations(shape, entries.length, path, value, "size");
      for (const [key, item] of entries) {
        violations.push(...violationsOf(model, shape.key as string, key, direction, at("key")));
        violations.push(...violationsOf(model, shape.value as string, item, direction, at(key)));
      }
      return violations;
    }
    case "string": {
      if (typeof value !== "string") return broken("Member must be a string");
      const violations = sizeViolations(shape, value.length, path, value, "length");
      if (shape.enum && !shape.enum.includes(value))
        violations.push({
          path,
          value,
          constraint: `Member must satisfy enum value set: [${shape.enum.join(", ")}]`,
        });
      if (shape.pattern !== undefined && !patternOf(shape.pattern).test(value))
        violations.push({
          path,
          value,
          constraint: `Member must satisfy regular expression pattern: ${shape.pattern}`,
        });
      return violations;
    }
    case "integer":
    case "long": {
      if (typeof value === "bigint" && shape.type === "long") return [];
      if (typeof value !== "number" || !Number.isInteger(value))
        return broken("Member must be an integer");
      return rangeViolations(shape, value, path);
    }
    case "float":
    case "double": {
      if (typeof value !== "number" || Number.isNaN(value))
        return broken("Member must be a number");
      return rangeViolations(shape, value, path);
    }
    case "boolean":
      return typeof value === "boolean" ? [] : broken("Member must be a boolean");
    case "timestamp":
      // The SDK takes and returns Date objects for timestamps.
      return value instanceof Date && !Number.isNaN(value.getTime())
        ? []
        : broken("Member must be a timestamp (a Date)");
    case "blob":
      // The SDK takes strings or bytes and returns bytes.
      return value instanceof Uint8Array || (direction === "input" && typeof value === "string")
        ? []
        : broken("Member must be a blob (a Uint8Array)");
    default:
      return [];
  }
};

const sizeViolations = (
  shape: Shape,
  size: number,
  path: string,
  value: unknown,
  what: "length" | "size",
): Violation[] => {
  const violations: Violation[] = [];
  if (shape.min !== undefined && size < shape.min)
    violations.push({
      path,
      value,
      constraint: `Member must have ${what} greater than or equal to ${shape.min}`,
    });
  if (shape.max !== undefined && size > shape.max)
    violations.push({
      path,
      value,
      constraint: `Member must have ${what} less than or equal to ${shape.max}`,
    });
  return violations;
};

const rangeViolations = (shape: Shape, value: number, path: string): Violation[] => {
  const violations: Violation[] = [];
  if (shape.min !== undefined && value < shape.min)
    violations.push({
      path,
      value,
      constraint: `Member must have value greater than or equal to ${shape.min}`,
    });
  if (shape.max !== undefined && value > shape.max)
    violations.push({
      path,
      value,
      constraint: `Member must have value less than or equal to ${shape.max}`,
    });
  return violations;
};

const serviceModel = (service: string, operation: string) => {
  const model = API_MODELS.services[service];
  const definition = model?.operations[operation];
  if (!model || !definition)
    throw new SandboxAwsError({
      name: "SandboxNotModelled",
      message: `sandbox/api-models has no model of ${service}:${operation}: run npx tsx scripts/generate-api-models.ts`,
      httpStatusCode: 501,
    });
  return { model: { ...model, name: service }, definition };
};

/**
 * The error the service answers an invalid request with, as each protocol spells it: the query
 * services (Auto Scaling, IAM, STS, SNS) `ValidationError`, the JSON ones (KMS, SSM, Logs, Image
 * Builder) `ValidationException`, with "N validation errors detected: Value 'v' at 'path' failed
 * to satisfy constraint: ..."; EC2 and SQS (JSON but query-compatible: it keeps its query error
 * codes) `MissingParameter` and `InvalidParameterValue`. Sources: each API reference's Common
 * Errors page.
 */
export const validationError = (service: string, violations: readonly Violation[]) => {
  const model = API_MODELS.services[service];
  const first = violations[0] as Violation;
  if (model?.protocol === "ec2" || model?.awsQueryCompatible) {
    return first.missing
      ? new SandboxAwsError({
          name: "MissingParameter",
          message: `The request must contain the parameter ${first.path}`,
        })
      : new SandboxAwsError({
          name: "InvalidParameterValue",
          message: `Value (${describe(first.value)}) for parameter ${first.path} is invalid. ${first.constraint}`,
        });
  }
  const count = violations.length;
  const details = violations
    .map(
      (violation) =>
        `Value ${violation.value === null ? "null" : `'${describe(violation.value)}'`} at '${violation.path}' failed to satisfy constraint: ${violation.constraint}`,
    )
    .join("; ");
  return new SandboxAwsError({
    name: model?.protocol === "query" ? "ValidationError" : "ValidationException",
    message: `${count} validation error${count === 1 ? "" : "s"} detected: ${details}`,
  });
};

/** Throws what the service would answer if `input` breaks the operation's input shape. */
export const validateRequest = (call: {
  service: string;
  operation: string;
  input: Record<string, unknown>;
}): void => {
  const { model, definition } = serviceModel(call.service, call.operation);
  if (!definition.input) return;
  const violations = violationsOf(model, definition.input, call.input, "input");
  if (violations.length > 0) throw validationError(call.service, violations);
};

/**
 * A sandbox bug, not an AWS answer: the service model returned what AWS never would. Status 400
 * so the SDK does not retry it, and a name no code handles, so the test that hit it fails.
 */
export const validateResponse = (
  call: { service: string; operation: string },
  output: unknown,
): void => {
  const { model, definition } = serviceModel(call.service, call.operation);
  const violations = definition.output
    ? violationsOf(model, definition.output, output ?? {}, "output")
    : [];
  if (violations.length > 0)
    throw new SandboxAwsError({
      name: "SandboxResponseInvalid",
      message: `the sandbox's ${call.service}:${call.operation} response breaks the API model: ${violations
        .map(
          (violation) =>
            `${violation.path || "(response)"} = ${describe(violation.value)}: ${violation.constraint}`,
        )
        .join("; ")}`,
    });
};
