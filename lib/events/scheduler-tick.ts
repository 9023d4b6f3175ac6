import * as z from "zod/mini";
import { parseEvent } from "./parse.ts";

/**
 * The input EventBridge Scheduler sends to start-pipelines, as generated from the config:
 * `{"pipeline": "<name>", "scheduledTime": "<aws.scheduler.scheduled-time>"}`. `pipelines` (a list)
 * is accepted for manual runs that start several pipelines at once.
 */
// zod/mini: the same validation as zod classic, a fraction of its cold-start cost.
const nonEmpty = () => z.string().check(z.minLength(1));
const schedulerTickSchema = z
  .strictObject({
    pipeline: z.optional(nonEmpty()),
    pipelines: z.optional(z.array(nonEmpty()).check(z.minLength(1))),
    scheduledTime: z.optional(
      z.iso.datetime({ offset: true, error: "expected an ISO 8601 timestamp" }),
    ),
  })
  .check(
    z.refine((tick) => (tick.pipeline === undefined) !== (tick.pipelines === undefined), {
      message: 'set exactly one of "pipeline" or "pipelines"',
    }),
  );

export interface SchedulerTick {
  readonly pipelines: readonly string[];
  /** When the schedule fired; absent for a manual invocation. */
  readonly scheduledTime?: string;
}

export const parseSchedulerTick = (event: unknown): SchedulerTick => {
  const tick = parseEvent(schedulerTickSchema, event, "scheduler tick");
  return {
    pipelines: tick.pipeline === undefined ? [...new Set(tick.pipelines)] : [tick.pipeline],
    ...(tick.scheduledTime === undefined ? {} : { scheduledTime: tick.scheduledTime }),
  };
};
