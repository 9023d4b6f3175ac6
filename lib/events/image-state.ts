import * as z from "zod/mini";
import { InvalidEventError } from "../errors.ts";
import { checkJsonText } from "./bounds.ts";
import { parseEvent } from "./parse.ts";
import { matching, nonEmptyArray } from "./schema-kit.ts";

/**
 * One normalised image state change, whichever way it arrived: the Image Builder SNS
 * notification (which carries the outputs) or the EventBridge "Image State Change" event (which
 * does not: `amis` is undefined and the caller looks the image up with GetImage).
 */
export interface ImageStateChange {
  readonly source: "sns" | "eventbridge";
  readonly imageArn: string;
  readonly status: string;
  readonly previousStatus?: string;
  readonly reason?: string;
  readonly pipelineArn?: string;
  readonly name?: string;
  readonly version?: string;
  /** Distributed AMIs; undefined when the event does not carry them (EventBridge). */
  readonly amis?: readonly DistributedAmi[];
  /**
   * How each region's AMI reaches other accounts (the image's distribution configuration): copied
   * into them, or shared with them by launch permission. Undefined when the event does not carry it.
   */
  readonly distributions?: readonly ImageDistribution[];
  /** Id of the SNS message or EventBridge event, for logs and deduplication. */
  readonly deliveryId?: string;
  /** The SNS topic the record came from: only a pipeline's configured topic is believed. */
  readonly topicArn?: string;
}

export interface DistributedAmi {
  readonly region: string;
  readonly image: string;
  readonly accountId: string;
  readonly name?: string;
}

/**
 * One region of an image's distribution configuration (Image Builder API: `Distribution`,
 * `AmiDistributionConfiguration`, `LaunchPermissionConfiguration`). `targetAccountIds` get their own
 * copy of the AMI (listed in `outputResources.amis`); `launchPermission` shares the build account's
 * AMI of that region (only that AMI is listed), EC2 ModifyImageAttribute on Image Builder's behalf.
 */
export interface ImageDistribution {
  readonly region: string;
  readonly targetAccountIds: readonly string[];
  readonly launchPermission: {
    readonly userIds: readonly string[];
    /** `all` makes the AMI public. */
    readonly userGroups: readonly string[];
    readonly organizationArns: readonly string[];
    readonly organizationalUnitArns: readonly string[];
  };
}

/**
 * Length caps at the edge: whoever can publish to the topic chooses these strings, and each one
 * is logged (a 1 MB pipeline name once made 9 MB of logs). Image Builder's own limits are lower:
 * names are 1-128 characters, versions x.y.z, ARNs well under 1,024 (API reference, CreateImage-
 * Recipe `name`, `semanticVersion`); 1,024 leaves room without letting a message flood the logs.
 */
const MAX_ARN = 1024;
const MAX_NAME = 128;
/** A failure reason is free text: kept, but cut to this many characters. */
export const MAX_REASON = 2000;
/**
 * The largest distribution Image Builder accepts, from its API model (botocore imagebuilder
 * 2019-12-02 service-2.json, botocore 1.43.11): `AccountList` (an AMI distribution's
 * `targetAccountIds`, a launch permission's `userIds`) holds at most 1,536 accounts;
 * `OrganizationArnList` and `OrganizationalUnitArnList` at most 25 ARNs each.
 */
export const MAX_ACCOUNTS_PER_DISTRIBUTION = 1536;
const MAX_ORGANIZATION_ARNS = 25;
/**
 * `DistributionList` has no maximum in the model, but each entry is one Region: the AWS SDK's
 * endpoint data (@aws-sdk/core 3.981.1, partitions.json) knows 36 in the largest partition.
 * 64 leaves room for new Regions.
 */
export const MAX_DISTRIBUTIONS = 64;
/**
 * AMIs one image can legitimately list in `outputResources.amis`: per Region, a copy in each of
 * its target accounts plus the build account's own. Nearly 100,000: a GetImage answer of about
 * 10 MB, which is why only GetImage (not a notification) is trusted with the list.
 */
export const MAX_AMIS = MAX_DISTRIBUTIONS * (MAX_ACCOUNTS_PER_DISTRIBUTION + 1);

const capped = (max: number) => z.string().check(z.maxLength(max, `longer than ${max} characters`));
const cappedText = (max: number) =>
  z.string().check(z.minLength(1), z.maxLength(max, `longer than ${max} characters`));
const cappedArray = <T extends z.ZodMiniType>(item: T, max: number) =>
  z.array(item).check(z.maxLength(max, `more than ${max} items`));
const cutReason = (reason: string): string =>
  reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}… (cut)` : reason;

const IMAGE_ARN = /^arn:aws[\w-]*:imagebuilder:[\w-]+:\d{12}:image\/[\w-]+\/\d+\.\d+\.\d+\/\d+$/;
const imageArn = z
  .string()
  .check(
    z.maxLength(MAX_ARN, `longer than ${MAX_ARN} characters`),
    z.regex(IMAGE_ARN, "expected an Image Builder image build-version ARN"),
  );
const SNS_TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;

const amiSchema = z.object({
  region: cappedText(MAX_NAME),
  image: matching(/^ami-[0-9a-f]{8,32}$/, "expected an AMI id"),
  accountId: matching(/^\d{12}$/, "expected a 12-digit account id"),
  name: z.optional(capped(MAX_NAME)),
});

const strings = (max: number) => z._default(cappedArray(capped(MAX_ARN), max), []);
const distributionSchema = z.object({
  region: cappedText(MAX_NAME),
  amiDistributionConfiguration: z.optional(
    z.object({
      targetAccountIds: strings(MAX_ACCOUNTS_PER_DISTRIBUTION),
      launchPermission: z.optional(
        z.object({
          userIds: strings(MAX_ACCOUNTS_PER_DISTRIBUTION),
          // EC2 knows one launch-permission group, `all`; bounded like the account lists.
          userGroups: strings(MAX_ACCOUNTS_PER_DISTRIBUTION),
          organizationArns: strings(MAX_ORGANIZATION_ARNS),
          organizationalUnitArns: strings(MAX_ORGANIZATION_ARNS),
        }),
      ),
    }),
  ),
});

/** The distribution configuration as the SNS message and GetImage spell it, normalised. */
export const normaliseDistributions = (
  distributions: ReadonlyArray<z.output<typeof distributionSchema>>,
): ImageDistribution[] =>
  distributions.map((distribution) => {
    const ami = distribution.amiDistributionConfiguration;
    const permission = ami?.launchPermission;
    return {
      region: distribution.region,
      targetAccountIds: ami?.targetAccountIds ?? [],
      launchPermission: {
        userIds: permission?.userIds ?? [],
        userGroups: permission?.userGroups ?? [],
        organizationArns: permission?.organizationArns ?? [],
        organizationalUnitArns: permission?.organizationalUnitArns ?? [],
      },
    };
  });

/** Parses GetImage's `distributionConfiguration.distributions` (the SDK's shape) the same way. */
export const parseDistributions = (distributions: unknown): ImageDistribution[] =>
  normaliseDistributions(
    parseEvent(
      cappedArray(distributionSchema, MAX_DISTRIBUTIONS),
      distributions ?? [],
      "distributionConfiguration",
    ),
  );

const stateSchema = z.object({ status: cappedText(MAX_NAME), reason: z.optional(z.string()) });

/**
 * The image JSON Image Builder publishes to SNS. Only the fields we use are declared; the rest
 * (recipe, infrastructure, `semver`, which exceeds JS integer precision, `dateCreated`, which is
 * not ISO) are deliberately ignored.
 */
const imageBuilderMessageSchema = z.object({
  arn: imageArn,
  name: z.optional(capped(MAX_NAME)),
  version: z.optional(capped(MAX_NAME)),
  sourcePipelineArn: z.optional(capped(MAX_ARN)),
  state: stateSchema,
  // A hint only (the intake reads the AMIs from GetImage): a large image's list does not fit in
  // a notification, so it may be absent or partial.
  outputResources: z.optional(z.object({ amis: z._default(cappedArray(amiSchema, MAX_AMIS), []) })),
  distributionConfiguration: z.optional(
    z.object({
      distributions: z._default(cappedArray(distributionSchema, MAX_DISTRIBUTIONS), []),
    }),
  ),
});

const snsEventSchema = z.object({
  Records: nonEmptyArray(
    z.object({
      EventSource: z.literal("aws:sns"),
      Sns: z.object({
        MessageId: z.optional(capped(MAX_NAME)),
        // Lambda always sets it; without it the record cannot be tied to a configured topic.
        TopicArn: z
          .string()
          .check(
            z.maxLength(MAX_ARN, `longer than ${MAX_ARN} characters`),
            z.regex(SNS_TOPIC_ARN, "expected an SNS topic ARN"),
          ),
        Message: z.string(),
      }),
    }),
  ),
});

const eventBridgeSchema = z.object({
  id: z.optional(capped(MAX_NAME)),
  source: z.literal("aws.imagebuilder"),
  "detail-type": z.literal("EC2 Image Builder Image State Change"),
  resources: z.array(imageArn).check(z.minLength(1, "expected the image ARN in resources[0]")),
  detail: z.object({
    "previous-state": z.optional(z.object({ status: capped(MAX_NAME) })),
    state: stateSchema,
  }),
});

const fromImageBuilderMessage = (
  message: unknown,
  topicArn: string,
  deliveryId?: string,
): ImageStateChange => {
  const image = parseEvent(imageBuilderMessageSchema, message, "Image Builder SNS message");
  return {
    source: "sns",
    topicArn,
    imageArn: image.arn,
    status: image.state.status,
    ...(image.state.reason ? { reason: cutReason(image.state.reason) } : {}),
    ...(image.sourcePipelineArn ? { pipelineArn: image.sourcePipelineArn } : {}),
    ...(image.name ? { name: image.name } : {}),
    ...(image.version ? { version: image.version } : {}),
    amis: (image.outputResources?.amis ?? []).map((ami) => ({
      region: ami.region,
      image: ami.image,
      accountId: ami.accountId,
      ...(ami.name ? { name: ami.name } : {}),
    })),
    ...(image.distributionConfiguration
      ? { distributions: normaliseDistributions(image.distributionConfiguration.distributions) }
      : {}),
    ...(deliveryId ? { deliveryId } : {}),
  };
};

/** Every record of an SNS batch, in order (Lambda may deliver more than one). */
export const parseImageBuilderSns = (event: unknown): ImageStateChange[] =>
  parseEvent(snsEventSchema, event, "SNS event").Records.map((record, index) => {
    checkJsonText(record.Sns.Message, "SNS event", `Records[${index}].Sns.Message`);
    let message: unknown;
    try {
      message = JSON.parse(record.Sns.Message);
    } catch (error) {
      throw new InvalidEventError(`Records[${index}].Sns.Message is not JSON`, event, {
        cause: error,
      });
    }
    try {
      return fromImageBuilderMessage(message, record.Sns.TopicArn, record.Sns.MessageId);
    } catch (error) {
      // Report against the whole event (that is what gets dead-lettered), saying which record.
      const detail = error instanceof Error ? error.message : String(error);
      throw new InvalidEventError(`Records[${index}].Sns.Message: ${detail}`, event, {
        cause: error,
      });
    }
  });

export { cutReason };

export const parseImageStateEventBridge = (event: unknown): ImageStateChange => {
  const parsed = parseEvent(eventBridgeSchema, event, "EventBridge image state change");
  const previous = parsed.detail["previous-state"]?.status;
  return {
    source: "eventbridge",
    imageArn: parsed.resources[0] as string,
    status: parsed.detail.state.status,
    ...(previous ? { previousStatus: previous } : {}),
    ...(parsed.detail.state.reason ? { reason: cutReason(parsed.detail.state.reason) } : {}),
    ...(parsed.id ? { deliveryId: parsed.id } : {}),
  };
};

/** At most this much of a rejected event is kept (and logged) with its error. */
const MAX_LOGGED_EVENT = 16_384;

/** The event as logged with its rejection: whole when small, else its first 16 KiB of JSON. */
const boundedForLog = (event: unknown): unknown => {
  const json = JSON.stringify(event) ?? "";
  return json.length <= MAX_LOGGED_EVENT
    ? event
    : { truncatedJson: json.slice(0, MAX_LOGGED_EVENT), length: json.length };
};

/** Accepts either trigger of on-image-state and returns every state change it carries. */
export const parseImageStateEvent = (event: unknown): ImageStateChange[] => {
  try {
    return parseEitherTrigger(event);
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    throw new InvalidEventError(error.message, boundedForLog(event), {
      cause: error.cause,
      problems: error.problems,
    });
  }
};

const parseEitherTrigger = (event: unknown): ImageStateChange[] => {
  if (event !== null && typeof event === "object" && "Records" in event)
    return parseImageBuilderSns(event);
  if (event !== null && typeof event === "object" && "detail-type" in event) {
    return [parseImageStateEventBridge(event)];
  }
  throw new InvalidEventError(
    "not an Image Builder SNS notification (Records[].Sns) nor an EventBridge image state change (detail-type)",
    event,
  );
};
