import * as z from "zod/mini";
import { parseEvent } from "./parse.ts";
import { matching, text } from "./schema-kit.ts";

/**
 * Auto Scaling's `EC2 Instance Launch Unsuccessful` event, forwarded from target accounts (EC2
 * Auto Scaling user guide, "Amazon EC2 Auto Scaling event reference", unsuccessful scaling
 * events; EventBridge reference, "Amazon EC2 Auto Scaling events"). `StatusMessage` carries the
 * EC2 error (for a key the service-linked role cannot use, the opaque
 * `Client.InternalError: Client error on launch`); `Cause` says why a launch was attempted.
 */
export const LAUNCH_UNSUCCESSFUL_DETAIL_TYPE = "EC2 Instance Launch Unsuccessful";

export interface LaunchUnsuccessfulEvent {
  readonly eventId: string;
  readonly accountId: string;
  readonly region: string;
  readonly time: string;
  readonly autoScalingGroupName: string;
  readonly activityId: string;
  readonly statusMessage: string;
  readonly cause: string;
  readonly availabilityZone?: string;
  readonly subnetId?: string;
}

const schema = z.object({
  id: z.string(),
  source: z.literal("aws.autoscaling"),
  "detail-type": z.literal(LAUNCH_UNSUCCESSFUL_DETAIL_TYPE),
  account: matching(/^\d{12}$/, "expected a 12-digit account id"),
  region: text(),
  time: z.string(),
  detail: z.object({
    AutoScalingGroupName: text(),
    ActivityId: text(),
    StatusMessage: z.optional(z.string()),
    Cause: z.optional(z.string()),
    Details: z.optional(
      z.object({
        "Availability Zone": z.optional(z.string()),
        "Subnet ID": z.optional(z.string()),
      }),
    ),
  }),
});

export const parseLaunchUnsuccessfulEvent = (event: unknown): LaunchUnsuccessfulEvent => {
  const parsed = parseEvent(schema, event, "launch-unsuccessful event");
  const details = parsed.detail.Details;
  return {
    eventId: parsed.id,
    accountId: parsed.account,
    region: parsed.region,
    time: parsed.time,
    autoScalingGroupName: parsed.detail.AutoScalingGroupName,
    activityId: parsed.detail.ActivityId,
    statusMessage: parsed.detail.StatusMessage ?? "",
    cause: parsed.detail.Cause ?? "",
    ...(details?.["Availability Zone"] ? { availabilityZone: details["Availability Zone"] } : {}),
    ...(details?.["Subnet ID"] ? { subnetId: details["Subnet ID"] } : {}),
  };
};
