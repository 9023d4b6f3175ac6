import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { type DerivedSettings, deriveSettings } from "../lib/deployment/index.ts";
import { readTemplate } from "./iam/cloudformation.ts";

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
