import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** Publish's Message limit, in UTF-8 bytes (API reference, Publish). */
export const MAXIMUM_MESSAGE_BYTES = 262_144;

/** One subscription (API reference, Subscription). */
export interface SandboxSubscription {
  readonly topicArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  /** The account that subscribed (its ListSubscriptions lists it). */
  readonly owner: string;
  /** Absent while the subscription waits for its confirmation. */
  arn?: string;
}

/**
 * SNS errors as the SDK throws them: AWS sends the query error code (InvalidParameter, NotFound),
 * and the JS SDK v3 names the error after the modelled shape whose awsQueryError code it is
 * (InvalidParameterException, NotFoundException: botocore sns service-2.json `error.code`;
 * @aws-sdk/core AwsQueryProtocol.handleError, findQueryCompatibleError).
 */

/** Subscriptions listed per page by ListSubscriptions(ByTopic): "up to 100" (API reference). */
const SUBSCRIPTIONS_PER_PAGE = 100;

/**
 * SNS topics: every Publish is kept, as an email subscriber would receive it; and their
 * subscriptions. An email subscription waits for the recipient to follow the link SNS emails
 * (SNS developer guide, "Email notifications"); a Lambda subscription made by the function's own
 * account has no confirmation step, cross-account topics included (Lambda developer guide,
 * with-sns). The sandbox has no other protocol.
 */
export class SnsModel {
  readonly published: Array<{ topicArn: string; subject?: string; message: string; at: number }> =
    [];
  readonly topics = new Set<string>();
  readonly subscriptions: SandboxSubscription[] = [];

  constructor(private readonly now: () => number) {}

  createTopic(topicArn: string): void {
    this.topics.add(topicArn);
  }

  /** Subscribe, as the owner's stack does; email endpoints stay pending until confirm(). */
  subscribe(subscription: Omit<SandboxSubscription, "arn">): SandboxSubscription {
    const created: SandboxSubscription = { ...subscription };
    this.subscriptions.push(created);
    if (subscription.protocol !== "email" && subscription.protocol !== "email-json")
      this.#confirm(created);
    return created;
  }

  /** Unsubscribe (API reference): the endpoint's subscriptions to the topic are gone. */
  unsubscribe(topicArn: string, endpoint: string): void {
    for (let index = this.subscriptions.length - 1; index >= 0; index -= 1) {
      const subscription = this.subscriptions[index];
      if (subscription?.topicArn === topicArn && subscription.endpoint === endpoint)
        this.subscriptions.splice(index, 1);
    }
  }

  /** The recipient follows the link in the confirmation email. */
  confirm(topicArn: string, endpoint: string): void {
    for (const subscription of this.subscriptions)
      if (subscription.topicArn === topicArn && subscription.endpoint === endpoint)
        this.#confirm(subscription);
  }

  #confirm(subscription: SandboxSubscription): void {
    subscription.arn ??= `${subscription.topicArn}:${crypto.randomUUID()}`;
  }

  /**
   * As the list operations return it. A subscription without an ARN yet is listed with
   * SubscriptionArn "PendingConfirmation": the API reference and model do not spell it out (the
   * Subscribe response says "pending confirmation", and GetSubscriptionAttributes has a
   * PendingConfirmation attribute), but that is what AWS returns (LocalStack aligned its SNS on it,
   * localstack/localstack#13666; mozilla/frost#428 "discovered that in testing").
   */
  static listed(subscription: SandboxSubscription) {
    return {
      SubscriptionArn: subscription.arn ?? "PendingConfirmation",
      Owner: subscription.owner,
      Protocol: subscription.protocol,
      Endpoint: subscription.endpoint,
      TopicArn: subscription.topicArn,
    };
  }

  /** One page of `matching`, after the NextToken (an index here; opaque in AWS). */
  static page(matching: readonly SandboxSubscription[], nextToken: unknown) {
    const start = nextToken === undefined ? 0 : Number(nextToken);
    if (!Number.isInteger(start) || start < 0 || start > matching.length)
      throw awsError("InvalidParameterException", "Invalid parameter: NextToken");
    const end = start + SUBSCRIPTIONS_PER_PAGE;
    return {
      Subscriptions: matching.slice(start, end).map(SnsModel.listed),
      ...(end < matching.length ? { NextToken: String(end) } : {}),
    };
  }

  readonly operations = {
    Publish: (call: CallContext) => {
      const subject = call.input.Subject === undefined ? undefined : String(call.input.Subject);
      // "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
      // characters long" (API reference, Publish).
      if (subject !== undefined && (subject.length >= 100 || /\p{Cc}/u.test(subject))) {
        throw awsError("InvalidParameterException", "Invalid parameter: Subject");
      }
      // "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not
      // 262,144 characters)" (API reference, Publish).
      const bytes = Buffer.byteLength(String(call.input.Message));
      if (bytes > MAXIMUM_MESSAGE_BYTES) {
        throw awsError(
          "InvalidParameterException",
          `Invalid parameter: Message too long: ${bytes} bytes, at most ${MAXIMUM_MESSAGE_BYTES}`,
        );
      }
      this.published.push({
        topicArn: String(call.input.TopicArn),
        ...(subject === undefined ? {} : { subject }),
        message: String(call.input.Message),
        at: this.now(),
      });
      return { MessageId: `sns-${this.published.length}` };
    },
    // "Returns a list of the requester's subscriptions" (API reference, ListSubscriptions): those
    // the calling account made, in the region called, whoever owns the topics.
    ListSubscriptions: (call: CallContext) =>
      SnsModel.page(
        this.subscriptions.filter(
          (subscription) =>
            subscription.owner === call.accountId &&
            subscription.topicArn.split(":")[3] === call.region,
        ),
        call.input.NextToken,
      ),
    // Every subscription to the topic, whoever made it; NotFound (SDK NotFoundException) for a
    // topic that does not exist (API reference, ListSubscriptionsByTopic errors).
    ListSubscriptionsByTopic: (call: CallContext) => {
      const topicArn = String(call.input.TopicArn);
      if (!this.topics.has(topicArn))
        throw awsError("NotFoundException", "Topic does not exist", 404);
      return SnsModel.page(
        this.subscriptions.filter((subscription) => subscription.topicArn === topicArn),
        call.input.NextToken,
      );
    },
  };
}

/** SSM Parameter Store: String and SecureString parameters, per account and region. */
export class SsmModel {
  readonly parameters = new Map<string, { value: string; type: "String" | "SecureString" }>();

  put(
    accountId: string,
    region: string,
    name: string,
    value: string,
    type: "String" | "SecureString" = "SecureString",
  ): void {
    this.parameters.set(`${accountId}|${region}|${name}`, { value, type });
  }

  readonly operations = {
    GetParameter: (call: CallContext) => {
      const name = String(call.input.Name);
      const parameter = this.parameters.get(`${call.accountId}|${call.region}|${name}`);
      if (!parameter) throw awsError("ParameterNotFound", `Parameter ${name} not found.`);
      const decrypted = parameter.type === "String" || call.input.WithDecryption === true;
      return {
        Parameter: {
          Name: name,
          Type: parameter.type,
          Value: decrypted ? parameter.value : "AQICAHh...sandbox-ciphertext",
          Version: 1,
        },
      };
    },
    /**
     * Metadata of the caller's parameters, never a value (API reference, ParameterMetadata has
     * none). Filters: ParameterFilters with Key Name (Option Equals, the default, or BeginsWith)
     * or Type; other keys are refused rather than ignored.
     */
    DescribeParameters: (call: CallContext) => {
      const filters = (call.input.ParameterFilters ?? []) as Array<{
        Key: string;
        Option?: string;
        Values?: string[];
      }>;
      const bare = (name: string) => name.replace(/^\//, "");
      const matches = (name: string, type: string) =>
        filters.every((filter) => {
          const values = filter.Values ?? [];
          const option = filter.Option ?? "Equals";
          if (filter.Key === "Name" && option === "Equals") return values.includes(name);
          if (filter.Key === "Name" && option === "BeginsWith")
            return values.some((value) => name.startsWith(value));
          if (filter.Key === "Type" && option === "Equals") return values.includes(type);
          throw awsError(
            "InvalidFilterOption",
            `The sandbox does not model the filter ${filter.Key} ${option}.`,
          );
        });
      const prefix = `${call.accountId}|${call.region}|`;
      return {
        Parameters: [...this.parameters]
          .filter(([key, parameter]) => {
            const name = key.slice(prefix.length);
            return key.startsWith(prefix) && matches(name, parameter.type);
          })
          .map(([key, parameter]) => {
            const name = key.slice(prefix.length);
            return {
              Name: name,
              ARN: `arn:aws:ssm:${call.region}:${call.accountId}:parameter/${bare(name)}`,
              Type: parameter.type,
              Version: 1,
              Tier: "Standard",
              DataType: "text",
            };
          }),
      };
    },
  };
}

/** CloudWatch Logs: log events by group and stream, as Image Builder writes its build logs. */
export class LogsModel {
  readonly streams = new Map<string, string[]>();

  write(
    accountId: string,
    region: string,
    group: string,
    stream: string,
    lines: readonly string[],
  ): void {
    this.streams.set(`${accountId}|${region}|${group}|${stream}`, [...lines]);
  }

  readonly operations = {
    GetLogEvents: (call: CallContext) => {
      const key = `${call.accountId}|${call.region}|${String(call.input.logGroupName)}|${String(call.input.logStreamName)}`;
      const lines = this.streams.get(key);
      if (!lines)
        throw awsError("ResourceNotFoundException", "The specified log stream does not exist.");
      const limit = Number(call.input.limit ?? 10_000);
      const chosen =
        call.input.startFromHead === false ? lines.slice(-limit) : lines.slice(0, limit);
      return {
        events: chosen.map((message, index) => ({
          timestamp: index,
          message,
          ingestionTime: index,
        })),
      };
    },
  };
}
