import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type InvocationContext, runInInvocation } from "./invocation.ts";
import { fakeContext } from "./lambda.ts";
import type { RefreshStatus, SandboxActivity, SandboxRefresh } from "./model/auto-scaling.ts";
import { EventBridgeModel, isRuleEnabled, type SandboxRule } from "./model/eventbridge.ts";
import type { SandboxImage } from "./model/image-builder.ts";
import type { SandboxMessage, SandboxQueue } from "./model/sqs.ts";
import type { SandboxWorld } from "./model/world.ts";

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

export interface Invocation {
  readonly functionName: string;
  readonly at: number;
  readonly event: unknown;
  readonly result?: unknown;
  readonly error?: Error;
}

const REFRESH_EVENT_OUTCOMES: Partial<Record<RefreshStatus, string>> = {
  InProgress: "Started",
  Successful: "Succeeded",
  Failed: "Failed",
  Cancelled: "Cancelled",
  RollbackInProgress: "Rollback Started",
  RollbackSuccessful: "Rollback Succeeded",
};

/** Lambda's asynchronous invocation retries (serverless.yml: maximumRetryAttempts 2). */
const ASYNC_RETRIES = 2;

/**
 * The Lambda service of the sandbox: delivers Image Builder's SNS notifications to on-image-state
 * (asynchronous invocation: two retries, then the on-failure destination) and runs the SQS event
 * source mapping of the rollout queue for roll-out-target (batches of up to 10, partial batch
 * responses, visibility timeouts, redrive to the DLQ). Every invocation is recorded.
 */
/** The most an SNS message carries (a topic raised to its 1 MiB maximum). */
const SNS_MAX_BYTES = 1024 * 1024;

export class SandboxLambdaService {
  readonly invocations: Invocation[] = [];
  /** Events that failed every asynchronous attempt (the on-failure destination). */
  readonly failedEvents: Array<{ functionName: string; event: unknown; error: Error }> = [];
  readonly #pendingNotifications: unknown[] = [];
  #snsSequence = 0;

  constructor(
    private readonly world: SandboxWorld,
    private readonly handlers: {
      readonly onImageState: Handler<unknown, unknown>;
      readonly rollOutTarget: Handler<SQSEvent, SQSBatchResponse>;
      readonly watchRollouts: Handler<unknown, unknown>;
      readonly alerts: Handler<SQSEvent, unknown>;
      readonly explainLaunchFailure?: Handler<unknown, unknown>;
    },
    private readonly queues: { readonly rollout: SandboxQueue; readonly alerts: SandboxQueue },
    private readonly observer?: (invocation: Invocation) => void | Promise<void>,
  ) {
    // Image Builder publishes AVAILABLE and FAILED (only) to the pipeline's SNS topic; with
    // `imageStateEvents`, on-image-state's EventBridge rule (serverless/derived.cjs) also receives
    // every "EC2 Image Builder Image State Change" (EventBridge events reference, Image Builder).
    world.imageBuilder.onImageStateChange((image, previous) => {
      if (this.imageStateEvents)
        this.#pendingNotifications.push(this.imageStateEvent(image, previous));
      if (image.status === "AVAILABLE" || image.status === "FAILED") {
        const event = this.snsEvent(image);
        // A message this long is past what SNS carries (256 KiB, or 1 MiB for a topic that
        // allows it); what Image Builder does then is not documented: it is not delivered here,
        // and the EventBridge event (which names the image, with no AMI list) is the route.
        if (JSON.stringify(event).length <= SNS_MAX_BYTES) this.#pendingNotifications.push(event);
      }
    });
    // Target accounts forward their instance-refresh events to the orchestrator's bus.
    world.autoScaling.onRefreshChange((refresh) => {
      const outcome = REFRESH_EVENT_OUTCOMES[refresh.status];
      if (!outcome) return;
      const event = this.refreshEvent(refresh, outcome);
      if (!this.#routed(event, "watch-rollouts")) return;
      const fate = this.refreshEventFate(refresh, outcome);
      if (fate === "lost") {
        this.lostEvents.push(event);
        return;
      }
      this.#pendingRefreshEvents.push(event);
      if (fate === "duplicated") this.#pendingRefreshEvents.push(event);
    });
    // ...and their failed launches (templates/target-account-role.yml forwards both).
    world.autoScaling.onLaunchFailure((activity) => {
      if (!this.handlers.explainLaunchFailure) return;
      const event = this.launchUnsuccessfulEvent(activity);
      if (this.#routed(event, "explain-launch-failure")) this.#pendingLaunchEvents.push(event);
    });
  }

  /**
   * Each function's ARN (session.ts names them as the stack does). When set, EventBridge routes
   * as deployed: a target account's event reaches a function only through an ENABLED rule of its
   * own account and region that forwards it to the orchestrator's default bus
   * (templates/target-account-role.yml), then an ENABLED rule there that targets the function
   * (serverless.yml); and the 5-minute poll runs only while its schedule rule is enabled.
   */
  functionArn: ((functionName: string) => string) | undefined;
  /** Events EventBridge did not deliver for want of a rule, and why. */
  readonly unroutedEvents: Array<{ event: unknown; reason: string }> = [];

  #routed(event: Record<string, unknown>, functionName: string): boolean {
    if (!this.functionArn) return true;
    const { events, orchestratorAccountId: account, orchestratorRegion: region } = this.world;
    const bus = EventBridgeModel.busArn(account, region);
    const [source, sourceRegion] = [String(event.account), String(event.region)];
    const unrouted = (reason: string) => {
      this.unroutedEvents.push({ event, reason });
      return false;
    };
    if (!events.targetsFor(source, sourceRegion, event).some((target) => target.Arn === bus))
      return unrouted(`no enabled rule in ${source}/${sourceRegion} forwards it to ${bus}`);
    const arn = this.functionArn(functionName);
    if (!events.targetsFor(account, region, event).some((target) => target.Arn === arn))
      return unrouted(`no enabled rule on ${bus} sends it to ${arn}`);
    return true;
  }

  /** watch-rollouts' schedule rule (serverless.yml `schedule`), when it is there and enabled. */
  #pollRule(): SandboxRule | undefined {
    return this.world.events
      .rulesIn(this.world.orchestratorAccountId, this.world.orchestratorRegion)
      .find(
        (rule) =>
          isRuleEnabled(rule.state) &&
          rule.scheduleExpression !== undefined &&
          rule.targets.some((target) => this.#isWatchRollouts(target.Arn)),
      );
  }

  #isWatchRollouts(arn: string): boolean {
    const ours = this.functionArn?.("watch-rollouts");
    return ours ? arn === ours : arn.endsWith("-watch-rollouts");
  }

  readonly #pendingLaunchEvents: unknown[] = [];

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

  /** Delivers the forwarded failed launches so far to explain-launch-failure. */
  async deliverLaunchEvents(): Promise<Invocation[]> {
    const delivered: Invocation[] = [];
    const handler = this.handlers.explainLaunchFailure;
    while (handler && this.#pendingLaunchEvents.length > 0) {
      const event = this.#pendingLaunchEvents.shift();
      delivered.push(await this.invokeAsync("explain-launch-failure", handler, event));
    }
    return delivered;
  }

  /** Decides what EventBridge does with each refresh event (lost and duplicated ones happen). */
  refreshEventFate: (
    refresh: SandboxRefresh,
    outcome: string,
  ) => "delivered" | "lost" | "duplicated" = () => "delivered";
  /** Events the bus dropped, for tests to assert the poll recovered from them. */
  readonly lostEvents: unknown[] = [];
  readonly #pendingRefreshEvents: unknown[] = [];
  #eventSequence = 0;
  #nextPollAt: number | undefined;

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

  /** Delivers the forwarded instance-refresh events published so far to watch-rollouts. */
  async deliverRefreshEvents(): Promise<Invocation[]> {
    const delivered: Invocation[] = [];
    while (this.#pendingRefreshEvents.length > 0) {
      const event = this.#pendingRefreshEvents.shift();
      delivered.push(await this.invokeAsync("watch-rollouts", this.handlers.watchRollouts, event));
    }
    return delivered;
  }

  /**
   * The 5-minute schedule of watch-rollouts, as its rule delivers it: the target's constant
   * `Input` when it has one, else EventBridge's "Scheduled Event" naming the rule in `resources`
   * (EventBridge user guide, scheduled rules; API reference, Target `Input`).
   */
  poll(): Promise<Invocation> {
    const rule = this.#pollRule();
    if (!rule) throw new Error("watch-rollouts has no enabled schedule rule to poll it");
    const target = rule.targets.find((candidate) => this.#isWatchRollouts(candidate.Arn));
    const event =
      target?.Input !== undefined
        ? JSON.parse(target.Input)
        : {
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
    return this.invokeAsync("watch-rollouts", this.handlers.watchRollouts, event);
  }

  /**
   * Runs the whole system until `until` (simulated): AWS processes progress on the clock, and
   * every notification, forwarded event, queue message and 5-minute poll is delivered when due.
   */
  async run(
    until: number,
    options: {
      pollEveryMs?: number;
      /** The rollout queue's event source mapping (default: one batch of 10 at a time). */
      rolloutQueue?: { batchSize?: number; concurrency?: number };
    } = {},
  ): Promise<void> {
    const pollEvery = options.pollEveryMs ?? 5 * 60_000;
    this.#nextPollAt ??= this.world.clock.now() + pollEvery;
    for (let round = 0; round < 100_000; round += 1) {
      this.world.clock.advance(0);
      await this.deliverNotifications();
      await this.deliverRefreshEvents();
      await this.deliverLaunchEvents();
      await this.drainRolloutQueue(options.rolloutQueue);
      await this.drainAlertsQueue();
      const now = this.world.clock.now();
      if (this.#nextPollAt <= now) {
        if (this.#pollRule()) await this.poll();
        this.#nextPollAt = now + pollEvery;
        continue;
      }
      if (now >= until) return;
      const candidates = [
        this.#nextPollAt,
        this.world.sqs.nextVisibleAt(this.queues.rollout),
        this.world.sqs.nextVisibleAt(this.queues.alerts),
        this.world.clock.nextTimerAt(),
        until,
      ].filter((time): time is number => time !== undefined && time > now);
      this.world.clock.advanceTo(Math.min(...candidates));
    }
  }

  /** The SNS event Lambda receives for an image notification. */
  /** Also deliver Image Builder's EventBridge state changes to on-image-state (large fleets). */
  imageStateEvents = false;

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

  /**
   * Crash plan: the invocation of `functionName` that makes its `afterStep`th step (AWS or
   * DynamoDB call, counted across invocations from when the plan is set) dies right after that
   * step took effect, as a Lambda killed by a timeout or an out-of-memory error would. Once.
   */
  #crashPlan: { readonly functionName: string; readonly afterStep: number } | undefined;
  #crashStepsSeen = 0;
  /** Invocations that died by the crash plan. */
  readonly crashes: Array<{ functionName: string; afterStep: number }> = [];

  /** A new execution environment of a function (fresh module state), for after a crash. */
  newContainer: ((functionName: string) => Promise<Handler<never, unknown>>) | undefined;
  /** Handlers of the environments that replaced crashed ones, by function. */
  readonly #containers = new Map<string, Handler<never, unknown>>();

  crashAfterStep(functionName: string, step: number): void {
    this.#crashPlan = { functionName, afterStep: step };
    this.#crashStepsSeen = 0;
  }

  /** Whether the crash plan is still waiting for its step (the run made fewer steps). */
  get crashPending(): boolean {
    return this.#crashPlan !== undefined;
  }

  cancelCrash(): void {
    this.#crashPlan = undefined;
  }

  async #invoke<E, R>(functionName: string, handler: Handler<E, R>, event: E): Promise<Invocation> {
    const at = this.world.clock.now();
    let invocation: Invocation;
    const plan = this.#crashPlan?.functionName === functionName ? this.#crashPlan : undefined;
    let crash: (value: "crashed") => void = () => {};
    const crashed = new Promise<"crashed">((resolve) => {
      crash = resolve;
    });
    const context: InvocationContext = {
      functionName,
      steps: 0,
      crashed: false,
      ...(plan
        ? {
            crashAfterStep: plan.afterStep - this.#crashStepsSeen,
            onCrash: () => crash("crashed"),
          }
        : {}),
    };
    try {
      const result = await Promise.race([
        runInInvocation(context, () =>
          ((this.#containers.get(functionName) as Handler<E, R> | undefined) ?? handler)(
            event,
            fakeContext(functionName),
          ),
        ),
        crashed,
      ]);
      if (plan) this.#crashStepsSeen += context.steps;
      if (result === "crashed" && context.crashed) {
        this.#crashPlan = undefined;
        this.crashes.push({ functionName, afterStep: this.#crashStepsSeen });
        const fresh = await this.newContainer?.(functionName);
        if (fresh) this.#containers.set(functionName, fresh);
        throw new Error(`sandbox: ${functionName} crashed after step ${context.steps}`);
      }
      invocation = { functionName, at, event, result };
    } catch (error) {
      invocation = {
        functionName,
        at,
        event,
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
    this.invocations.push(invocation);
    await this.observer?.(invocation);
    return invocation;
  }

  /** Asynchronous invocation with Lambda's retries; the last failure goes to failedEvents. */
  async invokeAsync(
    functionName: string,
    handler: Handler<unknown, unknown>,
    event: unknown,
  ): Promise<Invocation> {
    let invocation = await this.#invoke(functionName, handler, event);
    for (let retry = 0; retry < ASYNC_RETRIES && invocation.error; retry += 1) {
      this.world.clock.advance(60_000);
      invocation = await this.#invoke(functionName, handler, event);
    }
    if (invocation.error) this.failedEvents.push({ functionName, event, error: invocation.error });
    return invocation;
  }

  /** Delivers the Image Builder notifications published so far. */
  async deliverNotifications(): Promise<Invocation[]> {
    const delivered: Invocation[] = [];
    while (this.#pendingNotifications.length > 0) {
      const event = this.#pendingNotifications.shift();
      delivered.push(await this.invokeAsync("on-image-state", this.handlers.onImageState, event));
    }
    return delivered;
  }

  sqsEvent(
    messages: readonly SandboxMessage[],
    queue: SandboxQueue = this.queues.rollout,
  ): SQSEvent {
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

  /**
   * Runs the rollout queue's event source mapping until it has nothing visible before `until`
   * (simulated time), advancing the clock to each delayed or retried message.
   */
  drainRolloutQueue(
    options: { until?: number; batchSize?: number; concurrency?: number } = {},
  ): Promise<Invocation[]> {
    return this.#drain(
      this.queues.rollout,
      "roll-out-target",
      this.handlers.rollOutTarget,
      options,
    );
  }

  /** The alerts function's event source mapping (batches of 5). */
  drainAlertsQueue(options: { until?: number } = {}): Promise<Invocation[]> {
    return this.#drain(this.queues.alerts, "alerts", this.handlers.alerts, {
      batchSize: 5,
      ...options,
    });
  }

  async #drain(
    queue: SandboxQueue,
    functionName: string,
    handler: Handler<SQSEvent, unknown>,
    options: { until?: number; batchSize?: number; concurrency?: number },
  ): Promise<Invocation[]> {
    const until = options.until ?? this.world.clock.now();
    const invocations: Invocation[] = [];
    for (let round = 0; round < 1000; round += 1) {
      // Like the event source mapping: up to `concurrency` invocations at once, a batch each.
      const batches: SandboxMessage[][] = [];
      for (let slot = 0; slot < (options.concurrency ?? 1); slot += 1) {
        const messages = this.world.sqs.receive(queue, options.batchSize ?? 10);
        if (messages.length === 0) break;
        batches.push(messages);
      }
      if (batches.length === 0) {
        const next = this.world.sqs.nextVisibleAt(queue);
        if (next === undefined || next > until) break;
        this.world.clock.advanceTo(next);
        continue;
      }
      const results = await Promise.all(
        batches.map((messages) =>
          this.#invoke(functionName, handler, this.sqsEvent(messages, queue)),
        ),
      );
      batches.forEach((messages, index) => {
        const invocation = results[index] as Invocation;
        invocations.push(invocation);
        const failed = new Set(
          invocation.error
            ? messages.map((message) => message.messageId)
            : ((invocation.result as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map(
                (failure) => failure.itemIdentifier,
              ),
        );
        for (const message of messages)
          if (!failed.has(message.messageId)) this.world.sqs.delete(queue, message);
      });
    }
    return invocations;
  }
}
