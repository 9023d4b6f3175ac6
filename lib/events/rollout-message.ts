import * as z from "zod/mini";
import { InvalidEventError } from "../errors.ts";
import { checkJsonText } from "./bounds.ts";
import { parseEvent } from "./parse.ts";
import { matching, nonNegativeInt, text } from "./schema-kit.ts";

/**
 * The body of one rollout queue message: roll one rollout out to one target (account + region).
 * Written by on-image-state (and by later waves), read by roll-out-target; `attempt` counts the
 * times the message was re-enqueued to wait (grant propagation, another refresh in progress).
 *
 * Ids only: anyone allowed to send to the queue could write any field, so the AMI, the pipeline
 * and the groups are read from the records on-image-state wrote after GetImage, never from here.
 * Other fields (messages of earlier versions carried the AMI) are dropped unread.
 */
export const targetMessageSchema = z.object({
  rolloutId: text(),
  accountId: matching(/^\d{12}$/, "expected a 12-digit account id"),
  region: matching(/^[a-z]{2}(-[a-z]+)+-\d$/, "expected an AWS region"),
  attempt: z._default(nonNegativeInt(), 0),
});

export type TargetMessage = z.output<typeof targetMessageSchema>;

/** Parses an SQS message body, naming the bad field and value when it is not a target message. */
export const parseTargetMessage = (body: string): TargetMessage => {
  checkJsonText(body, "rollout message", "body");
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    const reason = `not JSON (${error instanceof Error ? error.message : String(error)})`;
    const got = JSON.stringify(body.slice(0, 120));
    throw new InvalidEventError(`not a valid rollout message: body: ${reason} (got ${got})`, body, {
      problems: [{ field: "body", reason, got }],
    });
  }
  return parseEvent(targetMessageSchema, json, "rollout message");
};
