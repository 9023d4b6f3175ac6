import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { CrashPlan } from "./lambda-service/crash-plan.ts";
import { type DrainOptions, drainQueue } from "./lambda-service/event-source-mapping.ts";
import { LambdaEvents, REFRESH_EVENT_OUTCOMES } from "./lambda-service/events.ts";
import { EventRouting } from "./lambda-service/routing.ts";
import type { Handler, Invocation } from "./lambda-service/types.ts";
import type { SandboxActivity, SandboxRefresh } from "./model/auto-scaling.ts";
import type { SandboxImage } from "./model/image-builder.ts";
import type { SandboxMessage, SandboxQueue } from "./model/sqs.ts";
import type { SandboxWorld } from "./model/world.ts";

export type { Invocation } from "./lambda-service/types.ts";

/** Lambda's asynchronous invocation retries (serverless.yml: maximumRetryAttempts 2). */
const ASYNC_RETRIES = 2;

/** The most an SNS message carries (a topic raised to its 1 MiB maximum). */
const SNS_MAX_BYTES = 1024 * 1024;

/**
 * The Lambda service of the sandbox: delivers Image Builder's SNS notifications to on-image-state
 * (asynchronous invocation: two retries, then the on-failure destination) and runs the SQS event
 * source mapping of the rollout queue for roll-out-target (batches of up to 10, partial batch
 * responses, visibility timeouts, redrive to the DLQ). Every invocation is recorded.
 *
 * Its parts, under `lambda-service/`: the events it hands the functions (`events.ts`), which
 * rules let them through (`routing.ts`), the crash plan (`crash-plan.ts`) and the SQS event
 * source mapping (`event-source-mapping.ts`).
 */
export class SandboxLambdaService {
  readonly invocations: Invocation[] = [];
  /** Events that failed every asynchronous attempt (the on-failure destination). */
  readonly failedEvents: Array<{ functionName: string; event: unknown; error: Error }> = [];
  /** Events the bus dropped, for tests to assert the poll recovered from them. */
  readonly lostEvents: unknown[] = [];
  /** Also deliver Image Builder's EventBridge state changes to on-image-state (large fleets). */
  imageStateEvents = false;
  /** Decides what EventBridge does with each refresh event (lost and duplicated ones happen). */
  refreshEventFate: (
    refresh: SandboxRefresh,
    outcome: string,
  ) => "delivered" | "lost" | "duplicated" = () => "delivered";

  readonly #events: LambdaEvents;
  readonly #routing: EventRouting;
  readonly #crashPlan = new CrashPlan();
  readonly #pendingNotifications: unknown[] = [];
  readonly #pendingRefreshEvents: unknown[] = [];
  readonly #pendingLaunchEvents: unknown[] = [];
  #nextPollAt: number | undefined;

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
    this.#events = new LambdaEvents(world);
    this.#routing = new EventRouting(world);
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
      if (!this.#routing.routed(event, "watch-rollouts")) return;
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
      if (this.#routing.routed(event, "explain-launch-failure"))
        this.#pendingLaunchEvents.push(event);
    });
  }

  /** Each function's ARN: when set, EventBridge routes as deployed (lambda-service/routing.ts). */
  get functionArn(): ((functionName: string) => string) | undefined {
    return this.#routing.functionArn;
  }

  set functionArn(functionArn: ((functionName: string) => string) | undefined) {
    this.#routing.functionArn = functionArn;
  }

  /** Events EventBridge did not deliver for want of a rule, and why. */
  get unroutedEvents(): Array<{ event: unknown; reason: string }> {
    return this.#routing.unroutedEvents;
  }

  // The events, as lambda-service/events.ts makes them.
  launchUnsuccessfulEvent(activity: SandboxActivity): Record<string, unknown> {
    return this.#events.launchUnsuccessfulEvent(activity);
  }

  refreshEvent(refresh: SandboxRefresh, outcome: string): Record<string, unknown> {
    return this.#events.refreshEvent(refresh, outcome);
  }

  imageStateEvent(image: SandboxImage, previous: string): unknown {
    return this.#events.imageStateEvent(image, previous);
  }

  snsEvent(image: SandboxImage): unknown {
    return this.#events.snsEvent(image);
  }

  sqsEvent(
    messages: readonly SandboxMessage[],
    queue: SandboxQueue = this.queues.rollout,
  ): SQSEvent {
    return this.#events.sqsEvent(messages, queue);
  }

  // The crash plan (lambda-service/crash-plan.ts).
  /** Invocations that died by the crash plan. */
  get crashes(): Array<{ functionName: string; afterStep: number }> {
    return this.#crashPlan.crashes;
  }

  /** A new execution environment of a function (fresh module state), for after a crash. */
  get newContainer(): ((functionName: string) => Promise<Handler<never, unknown>>) | undefined {
    return this.#crashPlan.newContainer;
  }

  set newContainer(create:
    | ((functionName: string) => Promise<Handler<never, unknown>>)
    | undefined) {
    this.#crashPlan.newContainer = create;
  }

  crashAfterStep(functionName: string, step: number): void {
    this.#crashPlan.crashAfterStep(functionName, step);
  }

  /** Whether the crash plan is still waiting for its step (the run made fewer steps). */
  get crashPending(): boolean {
    return this.#crashPlan.pending;
  }

  cancelCrash(): void {
    this.#crashPlan.cancel();
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

  /** Delivers the forwarded instance-refresh events published so far to watch-rollouts. */
  async deliverRefreshEvents(): Promise<Invocation[]> {
    const delivered: Invocation[] = [];
    while (this.#pendingRefreshEvents.length > 0) {
      const event = this.#pendingRefreshEvents.shift();
      delivered.push(await this.invokeAsync("watch-rollouts", this.handlers.watchRollouts, event));
    }
    return delivered;
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

  /**
   * The 5-minute schedule of watch-rollouts, as its rule delivers it: the target's constant
   * `Input` when it has one, else EventBridge's "Scheduled Event" naming the rule in `resources`
   * (EventBridge user guide, scheduled rules; API reference, Target `Input`).
   */
  poll(): Promise<Invocation> {
    const rule = this.#routing.pollRule();
    if (!rule) throw new Error("watch-rollouts has no enabled schedule rule to poll it");
    const target = rule.targets.find((candidate) => this.#routing.isWatchRollouts(candidate.Arn));
    const event =
      target?.Input !== undefined ? JSON.parse(target.Input) : this.#events.scheduledEvent(rule);
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
        if (this.#routing.pollRule()) await this.poll();
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

  /** One invocation, under the crash plan, recorded and shown to the observer. */
  async #invoke<E, R>(functionName: string, handler: Handler<E, R>, event: E): Promise<Invocation> {
    const at = this.world.clock.now();
    let invocation: Invocation;
    try {
      const result = await this.#crashPlan.run(functionName, handler, event);
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

  /**
   * Runs the rollout queue's event source mapping until it has nothing visible before `until`
   * (simulated time), advancing the clock to each delayed or retried message.
   */
  drainRolloutQueue(options: DrainOptions = {}): Promise<Invocation[]> {
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

  #drain(
    queue: SandboxQueue,
    functionName: string,
    handler: Handler<SQSEvent, unknown>,
    options: DrainOptions,
  ): Promise<Invocation[]> {
    return drainQueue(
      this.world,
      queue,
      (messages) => this.#invoke(functionName, handler, this.sqsEvent(messages, queue)),
      options,
    );
  }
}
