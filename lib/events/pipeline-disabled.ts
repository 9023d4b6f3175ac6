import * as z from "zod/mini";
import { parseEvent } from "./parse.ts";

/** Image Builder disabled a pipeline on its own after repeated failures. */
export interface PipelineAutoDisabled {
  readonly pipelineArn: string;
  readonly region: string;
  readonly accountId: string;
  readonly time: string;
  readonly consecutiveFailures?: number;
  readonly lastFailedImageArn?: string;
}

const schema = z.object({
  source: z.literal("aws.imagebuilder"),
  "detail-type": z.literal("EC2 Image Builder Image Pipeline Automatically Disabled"),
  account: z.string(),
  region: z.string(),
  time: z.string(),
  resources: z.array(z.string().check(z.includes(":image-pipeline/"))).check(z.minLength(1)),
  detail: z._default(
    z.object({
      "consecutive-failures": z.optional(z.coerce.number().check(z.int())),
      "last-failed-image": z.optional(z.string()),
    }),
    {},
  ),
});

export const parsePipelineAutoDisabled = (event: unknown): PipelineAutoDisabled => {
  const parsed = parseEvent(schema, event, "pipeline automatically disabled event");
  return {
    pipelineArn: parsed.resources[0] as string,
    region: parsed.region,
    accountId: parsed.account,
    time: parsed.time,
    ...(parsed.detail["consecutive-failures"] === undefined
      ? {}
      : { consecutiveFailures: parsed.detail["consecutive-failures"] }),
    ...(parsed.detail["last-failed-image"]
      ? { lastFailedImageArn: parsed.detail["last-failed-image"] }
      : {}),
  };
};
