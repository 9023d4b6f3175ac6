import * as z from "zod/mini";
import { parseEvent } from "./parse.ts";
import { matching, text } from "./schema-kit.ts";

/**
 * EC2 Auto Scaling instance-refresh lifecycle events, forwarded from target accounts to the
 * orchestrator's bus. The outcome is in the detail-type.
 */
export const INSTANCE_REFRESH_OUTCOMES = [
  "Started",
  "Succeeded",
  "Failed",
  "Cancelled",
  "Checkpoint Reached",
  "Rollback Started",
  "Rollback Succeeded",
  "Rollback Failed",
] as const;

export type InstanceRefreshOutcome = (typeof INSTANCE_REFRESH_OUTCOMES)[number];

export interface InstanceRefreshEvent {
  readonly outcome: InstanceRefreshOutcome;
  readonly accountId: string;
  readonly region: string;
  readonly autoScalingGroupName: string;
  readonly instanceRefreshId: string;
  readonly statusReason?: string;
  readonly time: string;
  readonly eventId: string;
}

const PREFIX = "EC2 Auto Scaling Instance Refresh ";

const schema = z.object({
  id: z.string(),
  source: z.literal("aws.autoscaling"),
  "detail-type": z
    .string()
    .check(
      z.refine(
        (type) =>
          (INSTANCE_REFRESH_OUTCOMES as readonly string[]).includes(type.slice(PREFIX.length)) &&
          type.startsWith(PREFIX),
        `expected "${PREFIX}<${INSTANCE_REFRESH_OUTCOMES.join("|")}>"`,
      ),
    ),
  account: matching(/^\d{12}$/, "expected a 12-digit account id"),
  region: z.string(),
  time: z.string(),
  detail: z.object({
    InstanceRefreshId: text(),
    AutoScalingGroupName: text(),
    StatusReason: z.optional(z.string()),
  }),
});

export const parseInstanceRefreshEvent = (event: unknown): InstanceRefreshEvent => {
  const parsed = parseEvent(schema, event, "instance refresh event");
  return {
    outcome: parsed["detail-type"].slice(PREFIX.length) as InstanceRefreshOutcome,
    accountId: parsed.account,
    region: parsed.region,
    autoScalingGroupName: parsed.detail.AutoScalingGroupName,
    instanceRefreshId: parsed.detail.InstanceRefreshId,
    ...(parsed.detail.StatusReason ? { statusReason: parsed.detail.StatusReason } : {}),
    time: parsed.time,
    eventId: parsed.id,
  };
};
