import { readFileSync } from "node:fs";
import { parseCloudFormationYaml } from "../../lib/deployment/cloudformation.ts";

/**
 * Just enough of CloudFormation to read our IAM policies the way a stack would create them: the
 * short-form tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, `!Equals`...), parameters (CommaDelimitedList
 * becomes a list), conditions and `AWS::NoValue`. Anything else is refused loudly, so a template
 * change the sandbox cannot follow never turns into a silently wrong policy.
 * Source: AWS CloudFormation User Guide, "Intrinsic function reference" and "Pseudo parameters".
 */

/** A YAML template (CloudFormation or serverless.yml) as plain data, intrinsics in long form. */
export const readTemplate = (path: string): Record<string, unknown> =>
  parseCloudFormationYaml(readFileSync(path, "utf8")) as Record<string, unknown>;

export interface Stack {
  readonly accountId: string;
  readonly region: string;
  readonly partition?: string;
  readonly stackName: string;
  /** Parameter values as strings, the way CloudFormation receives them. */
  readonly parameters?: Record<string, string>;
  /** What `!Ref` and `!GetAtt` of each logical ID give (`Ref` for Ref, attribute names otherwise). */
  readonly resources?: Record<string, Record<string, string>>;
}

const NO_VALUE = Symbol("AWS::NoValue");

/** Resolves every intrinsic in `node` for `stack`; `AWS::NoValue` removes the key or item. */
export class TemplateResolver {
  readonly #conditions = new Map<string, boolean>();

  constructor(
    private readonly template: Record<string, unknown>,
    private readonly stack: Stack,
  ) {}

  #parameter(name: string): string | string[] | undefined {
    const declared = (this.template.Parameters as Record<string, Record<string, unknown>>)?.[name];
    if (!declared) return undefined;
    const value = this.stack.parameters?.[name] ?? declared.Default;
    if (value === undefined) throw new Error(`template parameter ${name} has no value`);
    return declared.Type === "CommaDelimitedList" ? String(value).split(",") : String(value);
  }

  #ref(name: string): string | string[] | typeof NO_VALUE {
    const partition = this.stack.partition ?? "aws";
    const pseudo: Record<string, string> = {
      "AWS::AccountId": this.stack.accountId,
      "AWS::Region": this.stack.region,
      "AWS::Partition": partition,
      "AWS::StackName": this.stack.stackName,
      "AWS::URLSuffix": "amazonaws.com",
    };
    if (name === "AWS::NoValue") return NO_VALUE;
    const value =
      pseudo[name] ?? this.#parameter(name) ?? this.stack.resources?.[name]?.Ref ?? undefined;
    if (value === undefined) throw new Error(`cannot resolve !Ref ${name}`);
    return value;
  }

  condition(name: string): boolean {
    const known = this.#conditions.get(name);
    if (known !== undefined) return known;
    const definition = (this.template.Conditions as Record<string, unknown>)?.[name];
    if (definition === undefined) throw new Error(`unknown condition ${name}`);
    const value = Boolean(this.resolve(definition));
    this.#conditions.set(name, value);
    return value;
  }

  #sub(template: string, variables: Record<string, unknown> = {}): string {
    return template.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return String(this.resolve(variables[name]));
      if (name.includes(".")) {
        const [logicalId, attribute] = name.split(".") as [string, string];
        return this.#getAtt(logicalId, attribute);
      }
      const value = this.#ref(name);
      if (typeof value !== "string") throw new Error(`!Sub \${${name}} is not a string`);
      return value;
    });
  }

  #getAtt(logicalId: string, attribute: string): string {
    const value = this.stack.resources?.[logicalId]?.[attribute];
    if (value === undefined) throw new Error(`cannot resolve !GetAtt ${logicalId}.${attribute}`);
    return value;
  }

  resolve(node: unknown): unknown {
    const value = this.#resolve(node);
    return value === NO_VALUE ? undefined : value;
  }

  #resolve(node: unknown): unknown {
    if (Array.isArray(node)) {
      return node.map((item) => this.#resolve(item)).filter((item) => item !== NO_VALUE);
    }
    if (node === null || typeof node !== "object") return node;
    const entries = Object.entries(node);
    const [key, argument] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined) {
      switch (key) {
        case "Ref":
          return this.#ref(String(argument));
        case "Condition":
          return this.condition(String(argument));
        case "Fn::Sub": {
          if (typeof argument === "string") return this.#sub(argument);
          const [template, variables] = argument as [string, Record<string, unknown>];
          return this.#sub(template, variables);
        }
        case "Fn::GetAtt": {
          const [logicalId, attribute] = argument as [string, string];
          return this.#getAtt(logicalId, attribute);
        }
        case "Fn::If": {
          const [name, whenTrue, whenFalse] = argument as [string, unknown, unknown];
          return this.#resolve(this.condition(name) ? whenTrue : whenFalse);
        }
        case "Fn::Equals": {
          const [left, right] = (argument as unknown[]).map((item) => this.resolve(item));
          return JSON.stringify(left) === JSON.stringify(right);
        }
        case "Fn::Not":
          return !this.resolve((argument as unknown[])[0]);
        case "Fn::And":
          return (argument as unknown[]).every((item) => Boolean(this.resolve(item)));
        case "Fn::Or":
          return (argument as unknown[]).some((item) => Boolean(this.resolve(item)));
        case "Fn::Join": {
          const [separator, items] = argument as [string, unknown[]];
          return (this.resolve(items) as unknown[]).join(separator);
        }
        case "Fn::Select": {
          const [index, items] = argument as [string, unknown];
          return (this.resolve(items) as unknown[])[Number(index)];
        }
        case "Fn::Split": {
          const [separator, source] = argument as [string, unknown];
          return String(this.resolve(source)).split(separator);
        }
        default:
          if (key.startsWith("Fn::")) throw new Error(`the sandbox does not resolve ${key}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [name, child] of entries) {
      const resolved = this.#resolve(child);
      if (resolved !== NO_VALUE) out[name] = resolved;
    }
    return out;
  }

  /** The resource's properties if its Condition holds (CloudFormation skips it otherwise). */
  resource(logicalId: string): Record<string, unknown> | undefined {
    const resource = (this.template.Resources as Record<string, Record<string, unknown>>)?.[
      logicalId
    ];
    if (!resource) return undefined;
    if (typeof resource.Condition === "string" && !this.condition(resource.Condition))
      return undefined;
    return this.resolve(resource.Properties ?? {}) as Record<string, unknown>;
  }
}

/**
 * The name CloudFormation gives a resource created without one: `<stack>-<logicalId>-<suffix>`,
 * with a random suffix (here a stable one), at most 64 characters for an IAM role.
 * Source: AWS::IAM::Role, RoleName ("If you don't specify a name, AWS CloudFormation generates a
 * unique physical ID"); the `<stack>-<logicalId>-<random>` shape is what CloudFormation does.
 */
export const generatedName = (stackName: string, logicalId: string, max = 64): string => {
  let hash = 0;
  for (const char of `${stackName}/${logicalId}`) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  // 12 upper-case letters and digits, as CloudFormation's suffixes look (e.g. 1A2B3C4D5E6F).
  let suffix = "";
  while (suffix.length < 12) {
    hash = (Math.imul(hash, 1_103_515_245) + 12_345) >>> 0;
    suffix += (hash % 36).toString(36).toUpperCase();
  }
  const head = `${stackName}-${logicalId}`.slice(0, max - suffix.length - 1);
  return `${head}-${suffix}`;
};
