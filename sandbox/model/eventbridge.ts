import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/**
 * EventBridge rules, per account, region and event bus: what the doctor reads (ListRuleNamesByTarget,
 * DescribeRule) and what decides whether an event reaches a target (an ENABLED
 * rule whose pattern matches it). Shapes, pagination and errors: botocore events/2015-10-07
 * service-2.json and paginators-1.json; the EventBridge API reference pages of the operations.
 */

/**
 * RuleState (events API model). ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS also matches AWS
 * management events delivered through CloudTrail, which ENABLED does not (API reference, PutRule
 * State); the sandbox sends none, so both enabled states match the same events here.
 */
export type RuleState = "ENABLED" | "DISABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

export const isRuleEnabled = (state: RuleState): boolean => state !== "DISABLED";

export interface RuleTarget {
  readonly Id: string;
  readonly Arn: string;
  readonly RoleArn?: string;
  readonly Input?: string;
}

export interface SandboxRule {
  readonly accountId: string;
  readonly region: string;
  readonly bus: string;
  readonly name: string;
  state: RuleState;
  /** The event pattern as JSON text, as PutRule takes it and DescribeRule returns it. */
  readonly eventPattern?: string;
  readonly scheduleExpression?: string;
  readonly description?: string;
  readonly targets: RuleTarget[];
}

/** "The maximum number of results per page for requests is 100" (API reference, ListRuleNamesByTarget). */
const MAX_PAGE = 100;

/** `EventBusName` is a name or an ARN; omitted, "the default event bus is used" (API reference). */
const busName = (input: Record<string, unknown>): string => {
  const value = input.EventBusName === undefined ? "default" : String(input.EventBusName);
  return value.startsWith("arn:") ? (value.split(":event-bus/")[1] ?? value) : value;
};

/** One page of `items` from the opaque `NextToken` (here an offset) with `Limit` (at most 100). */
const page = <T>(items: readonly T[], input: Record<string, unknown>) => {
  const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    // "Using an expired pagination token results in an HTTP 400 InvalidToken error."
    throw awsError("InvalidToken", "The pagination token is invalid or expired.");
  const size = Math.min(Number(input.Limit ?? MAX_PAGE), MAX_PAGE);
  const end = start + size;
  return { items: items.slice(start, end), next: end < items.length ? String(end) : undefined };
};

/**
 * Whether an event matches a pattern, for the pattern features our rules use: every field of
 * the pattern must match (AND); an array lists the accepted values (OR), matched exactly
 * against the event's value, or against any element when the event's value is an array;
 * a nested object matches the nested field. Content filters (prefix, anything-but, numeric...)
 * are not modelled and never match. Source: EventBridge user guide, "Creating event patterns"
 * and "Matching on values in arrays".
 */
export const patternMatches = (pattern: unknown, event: unknown): boolean => {
  if (!pattern || typeof pattern !== "object" || Array.isArray(pattern)) return false;
  const fields = event && typeof event === "object" ? (event as Record<string, unknown>) : {};
  return Object.entries(pattern as Record<string, unknown>).every(([key, expected]) => {
    const actual = fields[key];
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      return expected.some(
        (accepted) =>
          (typeof accepted !== "object" || accepted === null) && values.includes(accepted),
      );
    }
    return patternMatches(expected, actual);
  });
};

export class EventBridgeModel {
  readonly rules = new Map<string, SandboxRule>();

  static key(accountId: string, region: string, bus: string, name: string): string {
    return `${accountId}|${region}|${bus}|${name}`;
  }

  static busArn(accountId: string, region: string, bus = "default"): string {
    return `arn:aws:events:${region}:${accountId}:event-bus/${bus}`;
  }

  /** The rule as PutRule + PutTargets (or CloudFormation's AWS::Events::Rule) leaves it. */
  putRule(rule: Omit<SandboxRule, "bus" | "state"> & { bus?: string; state?: RuleState }) {
    const created: SandboxRule = {
      ...rule,
      bus: rule.bus ?? "default",
      state: rule.state ?? "ENABLED",
    };
    this.rules.set(
      EventBridgeModel.key(created.accountId, created.region, created.bus, created.name),
      created,
    );
    return created;
  }

  deleteRule(accountId: string, region: string, name: string, bus = "default"): boolean {
    return this.rules.delete(EventBridgeModel.key(accountId, region, bus, name));
  }

  /** A rule's ARN: `…:rule/<name>` on the default bus, `…:rule/<bus>/<name>` on another. */
  static ruleArn(rule: Pick<SandboxRule, "accountId" | "region" | "bus" | "name">): string {
    return `arn:aws:events:${rule.region}:${rule.accountId}:rule/${rule.bus === "default" ? "" : `${rule.bus}/`}${rule.name}`;
  }

  rulesIn(accountId: string, region: string, bus = "default"): SandboxRule[] {
    return [...this.rules.values()].filter(
      (rule) => rule.accountId === accountId && rule.region === region && rule.bus === bus,
    );
  }

  /**
   * The targets an event put on a bus is delivered to: each target of each enabled rule of that
   * bus whose pattern matches it (a DISABLED rule "does not match any events", API reference,
   * PutRule State). Schedule-only rules match no event.
   */
  targetsFor(accountId: string, region: string, event: unknown, bus = "default"): RuleTarget[] {
    return this.rulesIn(accountId, region, bus)
      .filter(
        (rule) =>
          isRuleEnabled(rule.state) &&
          rule.eventPattern !== undefined &&
          patternMatches(JSON.parse(rule.eventPattern), event),
      )
      .flatMap((rule) => rule.targets);
  }

  #rule(call: CallContext, name: string): SandboxRule {
    const bus = busName(call.input);
    const rule = this.rules.get(EventBridgeModel.key(call.accountId, call.region, bus, name));
    if (!rule)
      throw awsError(
        "ResourceNotFoundException",
        `Rule ${name} does not exist on EventBus ${bus}.`,
      );
    return rule;
  }

  readonly operations = {
    /** "Lists the rules for the specified target ... in your account", on one bus. */
    ListRuleNamesByTarget: (call: CallContext) => {
      const target = String(call.input.TargetArn);
      const names = this.rulesIn(call.accountId, call.region, busName(call.input))
        .filter((rule) => rule.targets.some((candidate) => candidate.Arn === target))
        .map((rule) => rule.name)
        .sort();
      const { items, next } = page(names, call.input);
      return { RuleNames: items, ...(next ? { NextToken: next } : {}) };
    },
    DescribeRule: (call: CallContext) => {
      const rule = this.#rule(call, String(call.input.Name));
      return {
        Name: rule.name,
        Arn: EventBridgeModel.ruleArn(rule),
        ...(rule.eventPattern !== undefined ? { EventPattern: rule.eventPattern } : {}),
        ...(rule.scheduleExpression !== undefined
          ? { ScheduleExpression: rule.scheduleExpression }
          : {}),
        State: rule.state,
        ...(rule.description !== undefined ? { Description: rule.description } : {}),
        EventBusName: rule.bus,
        CreatedBy: rule.accountId,
      };
    },
  };
}
