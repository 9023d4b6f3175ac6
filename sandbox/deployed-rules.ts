import { createHash } from "node:crypto";
import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { generatedName, readTemplate, TemplateResolver } from "./iam/cloudformation.ts";
import { SERVERLESS_YML, TARGET_TEMPLATE } from "./iam/policies.ts";
import type { SandboxRule } from "./model/eventbridge.ts";
import { readServerlessYml } from "./serverless-yml.ts";

/**
 * The EventBridge rules our deployments create, read from the files that create them (nothing
 * written by hand: change a pattern there and the sandbox routes events by the new one):
 * - in each target account and region, templates/target-account-role.yml's
 *   InstanceRefreshForwardingRule, named by CloudFormation (`<stack>-<logicalId>-<suffix>`);
 * - in the orchestrator's account and region, the rules osls compiles from serverless.yml's
 *   `eventBridge` and `schedule` (EventBridge method) events.
 */

type RuleSpec = Omit<SandboxRule, "state"> & { state?: SandboxRule["state"] };

/** The target template's forwarding rule, as a stack with these parameters creates it in `region`. */
export const targetForwardingRule = (stack: {
  readonly accountId: string;
  readonly region: string;
  readonly stackName: string;
  readonly parameters: Record<string, string>;
}): RuleSpec => {
  const roleName = `${stack.parameters.RoleName ?? "ami-orchestrator-target"}-events-${stack.region}`;
  const resolver = new TemplateResolver(readTemplate(TARGET_TEMPLATE), {
    ...stack,
    resources: {
      InstanceRefreshForwardingRole: {
        Ref: roleName,
        Arn: `arn:aws:iam::${stack.accountId}:role/${roleName}`,
      },
    },
  });
  const properties = resolver.resource("InstanceRefreshForwardingRule") as {
    EventPattern: unknown;
    Description?: string;
    State?: SandboxRule["state"];
    Targets: SandboxRule["targets"];
  };
  return {
    accountId: stack.accountId,
    region: stack.region,
    bus: "default",
    // AWS::Events::Rule without Name: "CloudFormation generates a unique physical ID".
    name: generatedName(stack.stackName, "InstanceRefreshForwardingRule", 64),
    eventPattern: JSON.stringify(properties.EventPattern),
    ...(properties.Description ? { description: properties.Description } : {}),
    // PutRule's State defaults to ENABLED (API reference, PutRule).
    ...(properties.State ? { state: properties.State } : {}),
    targets: properties.Targets,
  };
};

/** osls naming (lib/plugins/aws/lib/naming.js getNormalizedResourceName). */
export const normalizedName = (name: string) =>
  name
    .replace(/-/g, "Dash")
    .replace(/_/g, "Underscore")
    .replace(/^./, (c) => c.toUpperCase());

/**
 * osls names an `eventBridge` event's rule `<function name>-rule-<n>`, n its 1-based position in
 * the function's events, hashed past 64 characters (lib/plugins/aws/package/compile/events/
 * event-bridge/utils.js, makeAndHashRuleName).
 */
const eventBridgeRuleName = (functionName: string, position: number) => {
  const suffix = `rule-${position}`;
  const name = `${functionName}-${suffix}`;
  if (name.length <= 64) return name;
  const hash = createHash("md5").update(name).digest("hex");
  return `${name.slice(0, 31 - suffix.length)}${hash}-${suffix}`;
};

/** The ARN of one of the stack's functions, `<service>-<stage>-<function>` (osls naming). */
export const functionArn = (
  stack: { accountId: string; region: string; service: string; stage: string },
  fn: string,
) =>
  `arn:aws:lambda:${stack.region}:${stack.accountId}:function:${stack.service}-${stack.stage}-${fn}`;

interface ServerlessEvent {
  eventBridge?: { pattern?: unknown; name?: string; enabled?: boolean; input?: unknown };
  schedule?:
    | string
    | {
        rate?: string | string[];
        method?: string;
        enabled?: boolean;
        input?: unknown;
        name?: string;
      };
}

/** The rules osls compiles from serverless.yml's function events, for the stack `<service>-<stage>`. */
export const orchestratorRules = (
  config: OrchestratorConfig,
  stack: { accountId: string; region: string; stage: string },
  file = SERVERLESS_YML,
): RuleSpec[] => {
  const {
    document,
    service,
    resolveDerived: resolve,
  } = readServerlessYml(config, stack.stage, file);
  const rules: RuleSpec[] = [];
  const functions = document.functions as Record<string, { events?: unknown }>;
  for (const [fn, definition] of Object.entries(functions)) {
    const events = (resolve(definition.events) ?? []) as ServerlessEvent[];
    const name = `${service}-${stack.stage}-${fn}`;
    const target = {
      accountId: stack.accountId,
      region: stack.region,
      service,
      stage: stack.stage,
    };
    let schedules = 0;
    events.forEach((event, index) => {
      if (event.eventBridge) {
        const ruleName = event.eventBridge.name ?? eventBridgeRuleName(name, index + 1);
        rules.push({
          accountId: stack.accountId,
          region: stack.region,
          bus: "default",
          name: ruleName,
          eventPattern: JSON.stringify(resolve(event.eventBridge.pattern)),
          state: event.eventBridge.enabled === false ? "DISABLED" : "ENABLED",
          targets: [{ Id: `${ruleName}-target`, Arn: functionArn(target, fn) }],
        });
      }
      const schedule =
        typeof event.schedule === "string" ? { rate: event.schedule } : event.schedule;
      // `method: scheduler` is an EventBridge Scheduler schedule, not a rule.
      if (!schedule || schedule.method === "scheduler") return;
      for (const expression of [schedule.rate ?? []].flat()) {
        schedules += 1;
        rules.push({
          accountId: stack.accountId,
          region: stack.region,
          bus: "default",
          // osls sets the rule's Name from the event's `name` (one rate only); without it,
          // CloudFormation names the rule after the stack and logical id (osls
          // lib/plugins/aws/package/compile/events/schedule.js).
          name:
            (resolve(schedule.name) as string | undefined) ??
            generatedName(
              `${service}-${stack.stage}`,
              `${normalizedName(fn)}EventsRuleSchedule${schedules}`,
              64,
            ),
          scheduleExpression: expression,
          state: schedule.enabled === false ? "DISABLED" : "ENABLED",
          targets: [
            {
              Id: `${fn}Schedule`,
              Arn: functionArn(target, fn),
              ...(schedule.input !== undefined ? { Input: JSON.stringify(schedule.input) } : {}),
            },
          ],
        });
      }
    });
  }
  return rules;
};
