import { setTimeout as sleep } from "node:timers/promises";
import { validateRequest, validateResponse } from "../api-models/validate.ts";
import { AutoScalingModel } from "./auto-scaling.ts";
import { SimClock } from "./clock.ts";
import { CloudFormationChangeSets } from "./cloudformation-changesets.ts";
import { CloudFormationStacksModel } from "./cloudformation-stacks.ts";
import { Ec2Model } from "./ec2.ts";
import { awsError } from "./errors.ts";
import { EventBridgeModel } from "./eventbridge.ts";
import { type CallContext, FaultInjector } from "./faults.ts";
import { IamModel } from "./iam.ts";
import { type BuildDurations, ImageBuilderModel } from "./image-builder.ts";
import { componentOperations } from "./image-builder-components.ts";
import { pipelineOperations } from "./image-builder-pipelines.ts";
import { ImageBuilderResources } from "./image-builder-resources.ts";
import { KmsModel } from "./kms.ts";
import { LogsModel, SnsModel, SsmModel } from "./notifications.ts";
import { SchedulerModel } from "./scheduler.ts";
import { SqsModel } from "./sqs.ts";
import { StsModel } from "./sts.ts";
import { RequestThrottle } from "./throttling.ts";

/** Operations that change state in AWS: a duplicate delivery must make none of them twice. */
export const MUTATING_OPERATIONS: ReadonlySet<string> = new Set([
  "imagebuilder:StartImagePipelineExecution",
  "imagebuilder:CreateComponent",
  "imagebuilder:CreateImageRecipe",
  "imagebuilder:CreateImagePipeline",
  "imagebuilder:UpdateImagePipeline",
  "kms:CreateGrant",
  "ec2:CreateLaunchTemplateVersion",
  "ec2:ModifyLaunchTemplate",
  "autoscaling:StartInstanceRefresh",
  "autoscaling:UpdateAutoScalingGroup",
  "autoscaling:CancelInstanceRefresh",
  "autoscaling:RollbackInstanceRefresh",
  "iam:CreateServiceLinkedRole",
  "sqs:SendMessage",
  "sqs:SendMessageBatch",
  "sns:Publish",
]);

export interface CallRecord extends CallContext {
  readonly at: number;
  readonly mutating: boolean;
  readonly error?: string;
}

type Operation = (call: CallContext) => unknown;

export interface WorldOptions {
  /** Simulated start time. */
  readonly start: string;
  /** The account the orchestrator's functions run in (and, here, the build account). */
  readonly orchestratorAccountId: string;
  readonly orchestratorRegion: string;
  readonly buildDurations?: BuildDurations;
}

/**
 * The stateful multi-account model behind the sandbox: every SDK call made by the real handlers
 * lands in `call()`, is checked against injected faults, handled by the service model for the
 * caller's account and region, and recorded.
 */
export class SandboxWorld {
  readonly clock: SimClock;
  readonly faults = new FaultInjector();
  readonly calls: CallRecord[] = [];
  readonly imageBuilder: ImageBuilderModel;
  /** Components, recipes, configurations and API-created pipelines (image-builder-resources.ts). */
  readonly imageBuilderResources: ImageBuilderResources;
  /** Change sets and the image stacks they deploy (cloudformation-changesets.ts). */
  readonly cloudFormation: CloudFormationChangeSets;
  readonly sts: StsModel;
  readonly iam: IamModel;
  readonly kms: KmsModel;
  readonly ec2 = new Ec2Model();
  readonly autoScaling: AutoScalingModel;
  readonly sqs: SqsModel;
  readonly sns: SnsModel;
  readonly ssm = new SsmModel();
  readonly logs = new LogsModel();
  readonly scheduler: SchedulerModel;
  readonly events = new EventBridgeModel();
  /** The stacks deployed (DescribeStacks: what the operator commands read). */
  readonly cloudformationStacks: CloudFormationStacksModel;
  readonly orchestratorAccountId: string;
  readonly orchestratorRegion: string;
  /** IAM: authorises each call against its caller's policies (sandbox/iam/, worldFromConfig). */
  authorizer?: { authorize(call: CallContext): Promise<void> };
  /** Requests checked against the AWS API models, and refused by them. */
  readonly modelStats = { checked: 0, refused: 0 };
  /** Real (wall-clock) latency added to every call, for fan-out benchmarks. */
  latencyMs = 0;
  /** AWS's documented request-rate limits, when asked for (`throttleLikeAws`). */
  throttle?: RequestThrottle;
  readonly #services = new Map<string, Record<string, Operation>>();

  constructor(options: WorldOptions) {
    this.clock = new SimClock(options.start);
    this.orchestratorAccountId = options.orchestratorAccountId;
    this.orchestratorRegion = options.orchestratorRegion;
    this.imageBuilder = new ImageBuilderModel(this.clock, options.buildDurations);
    this.sts = new StsModel(this.clock);
    this.iam = new IamModel(() => this.clock.now());
    this.kms = new KmsModel(this.clock, this.iam);
    this.autoScaling = new AutoScalingModel(this.clock, this.ec2, this.kms);
    this.sqs = new SqsModel(this.clock);
    this.register("imagebuilder", this.imageBuilder.operations);
    this.imageBuilderResources = new ImageBuilderResources(this.clock, this.imageBuilder);
    this.register("imagebuilder", componentOperations(this.imageBuilderResources));
    this.register("imagebuilder", pipelineOperations(this.imageBuilderResources));
    this.register("imagebuilder", this.imageBuilderResources.tagOperations);
    this.register("sts", this.sts.operations);
    this.register("iam", this.iam.operations);
    this.register("kms", this.kms.operations);
    this.register("ec2", this.ec2.operations);
    this.register("autoscaling", this.autoScaling.operations);
    this.register("sqs", this.sqs.operations);
    this.sns = new SnsModel(() => this.clock.now());
    this.register("sns", this.sns.operations);
    this.register("ssm", this.ssm.operations);
    this.register("logs", this.logs.operations);
    this.scheduler = new SchedulerModel(() => this.clock.now());
    this.register("scheduler", this.scheduler.operations);
    this.register("events", this.events.operations);
    // The orchestrator's stack (derived from serverless.yml), then the image stacks deployed
    // by change sets, whose DescribeStacks answers the stacks they lack from the first.
    this.cloudformationStacks = new CloudFormationStacksModel(() => this.clock.now());
    this.register("cloudformation", this.cloudformationStacks.operations);
    this.cloudFormation = new CloudFormationChangeSets(this);
    this.register(
      "cloudformation",
      this.cloudFormation.operations(this.operation("cloudformation", "DescribeStacks")),
    );
    // A failed build writes its log, where the alerts function will look for it.
    this.imageBuilder.onImageStateChange((image) => {
      if (image.status !== "FAILED" || !image.failure?.logLines) return;
      this.logs.write(
        image.accountId,
        image.region,
        `/aws/imagebuilder/${image.name}`,
        `${image.version}/${image.buildVersion}`,
        image.failure.logLines,
      );
    });
  }

  /**
   * From now on, refuses calls beyond AWS's documented request rates (model/throttling.ts). The
   * buckets refill by simulated time plus the real time elapsed since: the simulated clock
   * stands still while handlers run, but the SDK's retry backoff waits in real time
   * (setTimeout), as the handlers' Date.now also counts it (install.ts). So a burst within one
   * invocation meets a bucket at one instant, a retry after a 0.5 s backoff finds 0.5 s of
   * refill, and a scenario's clock jump (a poll five minutes later) finds full buckets.
   */
  throttleLikeAws(): RequestThrottle {
    const realStart = performance.now();
    this.throttle = new RequestThrottle(() => this.clock.now() + (performance.now() - realStart));
    return this.throttle;
  }

  /** Calls refused as throttled since `throttleLikeAws`. */
  get throttled(): number {
    return this.throttle?.throttled ?? 0;
  }

  /** Adds a service model's operations (later models plug in here). */
  register(service: string, operations: Record<string, Operation>): void {
    this.#services.set(service, { ...this.#services.get(service), ...operations });
  }

  /** A registered operation, e.g. to answer what a later model does not know itself. */
  operation(service: string, name: string): Operation | undefined {
    return this.#services.get(service)?.[name];
  }

  async call(call: CallContext): Promise<unknown> {
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const key = `${call.service}:${call.operation}`;
    const record = { ...call, at: this.clock.now(), mutating: MUTATING_OPERATIONS.has(key) };
    try {
      this.faults.check(call);
      this.throttle?.admit(call);
      await this.authorizer?.authorize(call);
      const operation = this.#services.get(call.service)?.[call.operation];
      if (!operation) {
        throw awsError("SandboxNotModelled", `the sandbox does not model ${key} yet`, 501);
      }
      this.modelStats.checked += 1;
      try {
        validateRequest(call);
      } catch (error) {
        this.modelStats.refused += 1;
        throw error;
      }
      // Some operations answer asynchronously (IAM's policy simulation evaluates policies).
      const output = structuredClone(await operation(call));
      validateResponse(call, output);
      this.calls.push(record);
      return output;
    } catch (error) {
      this.calls.push({ ...record, error: error instanceof Error ? error.name : String(error) });
      throw error;
    }
  }

  /** Recorded calls, optionally filtered by `service:Operation` and whether they succeeded. */
  callsTo(key: string, options: { succeeded?: boolean } = {}): CallRecord[] {
    return this.calls.filter(
      (call) =>
        `${call.service}:${call.operation}` === key &&
        (options.succeeded === undefined || (call.error === undefined) === options.succeeded),
    );
  }

  mutatingCalls(): CallRecord[] {
    return this.calls.filter((call) => call.mutating && call.error === undefined);
  }
}
