import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { type DerivedSettings, deriveSettings } from "../lib/deployment/index.ts";
import { readTemplate, TemplateResolver } from "./iam/cloudformation.ts";

/**
 * serverless.yml as a deploy of `stage` reads it: the document, its service, and the settings
 * serverless/derived.cjs derives from the config (`${self:custom.derived.<name>}`), with the same
 * placeholders for the stack's own resources. One reader for the roles, rules, schedules and
 * subscriptions the sandbox deploys from it.
 */
export const readServerlessYml = (config: OrchestratorConfig, stage: string, file: string) => {
  const document = readTemplate(file);
  const service = String(document.service);
  const derived = deriveSettings(config, {
    service,
    stage,
    schedulerRoleArn: { "Fn::GetAtt": ["SchedulerInvokeRole", "Arn"] },
    alertsTopic: { Ref: "AlertsTopic" },
  });
  const settings = derived as unknown as Record<string, unknown>;
  /** A value that is exactly `${self:custom.derived.<name>}` is that setting; others unchanged. */
  const resolveDerived = (value: unknown): unknown => {
    const match = typeof value === "string" && /^\$\{self:custom\.derived\.(\w+)\}$/.exec(value);
    return match ? settings[match[1] as string] : value;
  };
  return { document, service, derived: derived as DerivedSettings, settings, resolveDerived };
};

/** Serverless variables we use in serverless.yml: `${self:...}`, `${sls:stage}`, `${opt:...}`. */
export const resolveServerlessVariables = (
  node: unknown,
  lookup: (name: string) => unknown,
): unknown => {
  if (typeof node === "string") {
    const whole = /^\$\{([^{}]+)\}$/.exec(node);
    if (whole && !whole[1]?.startsWith("AWS::")) return lookup(whole[1] as string);
    return node.replace(/\$\{((?:self|sls|opt|param):[^{}]+)\}/g, (_, name: string) =>
      String(lookup(name)),
    );
  }
  if (Array.isArray(node)) return node.map((item) => resolveServerlessVariables(item, lookup));
  if (node && typeof node === "object")
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, resolveServerlessVariables(value, lookup)]),
    );
  return node;
};

/**
 * A function's `environment` as a deploy of `stack.stage` gives it: serverless variables as the
 * framework resolves them (derived settings from deriveSettings), then the stack's intrinsics
 * (`!Sub arn:${AWS::Partition}:…`), for the variables `names`.
 */
export const functionEnvironment = (
  config: OrchestratorConfig,
  stack: { accountId: string; region: string; stage: string },
  fn: string,
  file: string,
  names: readonly string[],
): Record<string, string> => {
  const { document, service, settings } = readServerlessYml(config, stack.stage, file);
  const lookup = (name: string): unknown => {
    if (name === "self:service") return service;
    if (name === "sls:stage") return stack.stage;
    if (name.startsWith("self:custom.derived."))
      return settings[name.slice("self:custom.derived.".length)];
    throw new Error(`serverless.yml: the sandbox does not resolve \${${name}} in an environment`);
  };
  const environment =
    (document.functions as Record<string, { environment?: Record<string, unknown> }>)[fn]
      ?.environment ?? {};
  const resolver = new TemplateResolver({}, { ...stack, stackName: `${service}-${stack.stage}` });
  return Object.fromEntries(
    names.map((name) => {
      if (!(name in environment))
        throw new Error(`serverless.yml: function ${fn} has no environment variable ${name}`);
      return [
        name,
        String(resolver.resolve(resolveServerlessVariables(environment[name], lookup))),
      ];
    }),
  );
};
