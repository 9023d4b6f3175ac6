import type { SQSEvent } from "aws-lambda";
import type { RefreshStatus, SandboxActivity, SandboxRefresh } from "../model/auto-scaling.ts";
import { EventBridgeModel, type SandboxRule } from "../model/eventbridge.ts";
import type { SandboxImage } from "../model/image-builder.ts";
import type { SandboxMessage, SandboxQueue } from "../model/sqs.ts";
import type { SandboxWorld } from "../model/world.ts";

/**
 * The events the sandbox's Lambda service hands the functions, shaped as AWS delivers them: the
 * SNS notification and EventBridge state change of an image, the forwarded instance-refresh and
 * failed-launch events of a target account, the scheduled poll, and SQS batches. Ids are numbered
 * in the order the events are made.
 */

/** The instance-refresh statuses Auto Scaling sends an event for, and the event's outcome. */
export const REFRESH_EVENT_OUTCOMES: Partial<Record<RefreshStatus, string>> = {
  InProgress: "Started",
  Successful: "Succeeded",
  Failed: "Failed",
  Cancelled: "Cancelled",
  RollbackInProgress: "Rollback Started",
  RollbackSuccessful: "Rollback Succeeded",
};

export class LambdaEvents {
  /** Numbers the Auto Scaling events (refreshes and failed launches). */
  #eventSequence = 0;
  /** Numbers Image Builder's notifications and state changes. */
  #snsSequence = 0;

  constructor(private readonly world: SandboxWorld) {}

  /** "EC2 Instance Launch Unsuccessful" as the EventBridge reference's sample has it. */
  launchUnsuccessfulEvent(activity: SandboxActivity): Record<string, unknown> {
    this.#eventSequence += 1;
    const group = activity.group;
    return {
      version: "0",
      id: `launch-event-${this.#eventSequence}`,
      "detail-type": "EC2 Instance Launch Unsuccessful",
      source: "aws.autoscaling",
      account: group.accountId,
      time: new Date(activity.endTime).toISOString(),
      region: group.region,
      resources: [
        `arn:aws:autoscaling:${group.region}:${group.accountId}:autoScalingGroup:sandbox:autoScalingGroupName/${group.name}`,
      ],
      detail: {
        StatusCode: "Failed",
        AutoScalingGroupName: group.name,
        ActivityId: activity.id,
        Details: { "Availability Zone": `${group.region}a`, "Subnet ID": "subnet-sandbox" },
        RequestId: activity.id,
        StatusMessage: activity.statusMessage ?? "",
        EndTime: new Date(activity.endTime).toISOString(),
        EC2InstanceId: "",
        StartTime: new Date(activity.startTime).toISOString(),
        Cause: activity.cause,
      },
    };
  }

  refreshEvent(refresh: SandboxRefresh, outcome: string): Record<string, unknown> {
    this.#eventSequence += 1;
    const group = refresh.group;
    return {
      version: "0",
      id: `refresh-event-${this.#eventSequence}`,
      "detail-type": `EC2 Auto Scaling Instance Refresh ${outcome}`,
      source: "aws.autoscaling",
      account: group.accountId,
      time: this.world.clock.iso(),
      region: group.region,
      resources: [
        `arn:aws:autoscaling:${group.region}:${group.accountId}:autoScalingGroup:sandbox:autoScalingGroupName/${group.name}`,
      ],
      detail: {
        InstanceRefreshId: refresh.id,
        AutoScalingGroupName: group.name,
        ...(refresh.statusReason ? { StatusReason: refresh.statusReason } : {}),
      },
    };
  }

  /**
   * EventBridge's "Scheduled Event" naming the rule in `resources`, for a schedule rule whose
   * target has no constant `Input` (EventBridge user guide, scheduled rules).
   */
  scheduledEvent(rule: SandboxRule): Record<string, unknown> {
    return {
      version: "0",
      id: `poll-${this.world.clock.now()}`,
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: rule.accountId,
      time: this.world.clock.iso(),
      region: rule.region,
      resources: [EventBridgeModel.ruleArn(rule)],
      detail: {},
    };
  }

  /** The EventBridge event for an image's state change (events/imagebuilder-eventbridge-*.json). */
  imageStateEvent(image: SandboxImage, previous: string): unknown {
    this.#snsSequence += 1;
    return {
      version: "0",
      id: `image-state-${this.#snsSequence}`,
      "detail-type": "EC2 Image Builder Image State Change",
      source: "aws.imagebuilder",
      account: image.accountId,
      time: this.world.clock.iso().replace(/\.\d{3}Z$/, "Z"),
      region: image.region,
      resources: [image.arn],
      detail: {
        "previous-state": { status: previous },
        state: { status: image.status, ...(image.reason ? { reason: image.reason } : {}) },
      },
    };
  }

  /** The SNS event Lambda receives for an image notification. */
  snsEvent(image: SandboxImage): unknown {
    this.#snsSequence += 1;
    const topic = `arn:aws:sns:${image.region}:${image.accountId}:imagebuilder-notifications`;
    return {
      Records: [
        {
          EventSource: "aws:sns",
          EventVersion: "1.0",
          EventSubscriptionArn: `${topic}:sandbox`,
          Sns: {
            Type: "Notification",
            MessageId: `sns-${this.#snsSequence}`,
            TopicArn: topic,
            Subject: null,
            Message: JSON.stringify(this.world.imageBuilder.snsMessage(image)),
            Timestamp: this.world.clock.iso(),
            MessageAttributes: {},
          },
        },
      ],
    };
  }

  /** A batch of queue messages as the event source mapping hands it to the function. */
  sqsEvent(messages: readonly SandboxMessage[], queue: SandboxQueue): SQSEvent {
    return {
      Records: messages.map((message) => ({
        messageId: message.messageId,
        receiptHandle: message.receiptHandle ?? "",
        body: message.body,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          SenderId: "AROASANDBOX:on-image-state",
          ApproximateFirstReceiveTimestamp: String(message.sentAt),
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: queue.arn,
        awsRegion: this.world.orchestratorRegion,
      })),
    };
  }
}
