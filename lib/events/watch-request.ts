import * as z from "zod/mini";
import { InvalidEventError } from "../errors.ts";
import { type InstanceRefreshEvent, parseInstanceRefreshEvent } from "./instance-refresh.ts";
import { parseEvent } from "./parse.ts";
import { text } from "./schema-kit.ts";

/**
 * What watch-rollouts is asked to do: record an instance-refresh event forwarded from a target
 * account, poll (its 5-minute schedule), or an operator action sent by `npm run rollout` or a
 * plain `aws lambda invoke`.
 *
 * No request carries a time the rollout believes: bakes and freezes are decided on our clock, so
 * an event dated tomorrow (or yesterday) cannot end a bake or lift a freeze.
 */
export type WatchRequest =
  | { readonly kind: "refresh-event"; readonly event: InstanceRefreshEvent }
  | { readonly kind: "poll" }
  | {
      readonly kind: "approve";
      readonly wave: string;
      readonly pipeline?: string;
      readonly rolloutId?: string;
      readonly approvedBy: string;
    }
  | { readonly kind: "rollback"; readonly pipeline: string; readonly requestedBy: string }
  /** `npm run doctor`: the read-only pre-flight, run where the target roles can be assumed. */
  | { readonly kind: "doctor"; readonly pipeline?: string };

const actionSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("poll") }),
  z
    .object({
      action: z.literal("approve"),
      wave: text(),
      pipeline: z.optional(text()),
      rolloutId: z.optional(text()),
      approvedBy: z._default(text(), "operator"),
    })
    .check(
      z.refine((value) => Boolean(value.pipeline || value.rolloutId), {
        message: "name the pipeline (its latest rollout) or the rolloutId",
        path: ["pipeline"],
      }),
    ),
  z.object({
    action: z.literal("rollback"),
    pipeline: text(),
    requestedBy: z._default(text(), "operator"),
  }),
  z.object({ action: z.literal("doctor"), pipeline: z.optional(text()) }),
]);

/** Where a request may come from, as this stack is deployed. */
export interface WatchRequestSources {
  /** The ARN of this stack's poll schedule rule (serverless.yml, env POLL_RULE_ARN), read when needed. */
  readonly pollRuleArn: () => string;
}

export const parseWatchRequest = (event: unknown, sources: WatchRequestSources): WatchRequest => {
  if (event !== null && typeof event === "object") {
    const record = event as Record<string, unknown>;
    if (record.source === "aws.autoscaling")
      return { kind: "refresh-event", event: parseInstanceRefreshEvent(event) };
    if (record.source === "aws.events" && record["detail-type"] === "Scheduled Event") {
      // EventBridge names the rule that fired in `resources` (EventBridge user guide, scheduled
      // rules); the rule's ARN holds its account and region. Anyone else's "Scheduled Event"
      // (another rule, or a hand-made event sent with lambda:InvokeFunction) is not our poll.
      const resources = Array.isArray(record.resources) ? record.resources : [];
      const pollRuleArn = sources.pollRuleArn();
      if (resources[0] !== pollRuleArn) {
        const got = JSON.stringify(resources[0] ?? null).slice(0, 200);
        throw new InvalidEventError(
          `a Scheduled Event from ${got}, not this stack's poll rule ${pollRuleArn}: refused`,
          {
            id: record.id,
            account: record.account,
            region: record.region,
            time: record.time,
            resources: resources.slice(0, 5),
          },
          { problems: [{ field: "resources[0]", reason: "not this stack's poll rule", got }] },
        );
      }
      return { kind: "poll" };
    }
    if ("action" in record) {
      const action = parseEvent(actionSchema, event, "watch-rollouts action");
      switch (action.action) {
        case "poll":
          return { kind: "poll" };
        case "approve":
          return {
            kind: "approve",
            wave: action.wave,
            approvedBy: action.approvedBy,
            ...(action.pipeline ? { pipeline: action.pipeline } : {}),
            ...(action.rolloutId ? { rolloutId: action.rolloutId } : {}),
          };
        case "rollback":
          return { kind: "rollback", pipeline: action.pipeline, requestedBy: action.requestedBy };
        case "doctor":
          return { kind: "doctor", ...(action.pipeline ? { pipeline: action.pipeline } : {}) };
      }
    }
  }
  throw new InvalidEventError(
    'expected an EC2 Auto Scaling instance-refresh event, a scheduled poll, or {"action": "poll" | "approve" | "rollback" | "doctor", ...}',
    event,
  );
};
