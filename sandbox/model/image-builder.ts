import { createHash } from "node:crypto";
import type { SimClock } from "./clock.ts";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

export type ImageStatus =
  | "PENDING"
  | "BUILDING"
  | "TESTING"
  | "DISTRIBUTING"
  | "AVAILABLE"
  | "FAILED"
  | "CANCELLED";

/**
 * One region of a distribution configuration (Image Builder API, `Distribution` and
 * `AmiDistributionConfiguration`). `accountIds` (`targetAccountIds`) each get a copy of the AMI,
 * owned by them and listed in `outputResources.amis`; `launchPermission` only shares the build
 * account's AMI of the region (Image Builder calls EC2 ModifyImageAttribute on its behalf: API
 * model, `LaunchPermissionConfiguration`), so that AMI is the only one listed for the sharing.
 */
export interface Distribution {
  readonly region: string;
  /** Accounts receiving a copy of the AMI (the build account is implied in its own region). */
  readonly accountIds: readonly string[];
  readonly launchPermission?: {
    readonly userIds?: readonly string[];
    readonly organizationArns?: readonly string[];
    readonly organizationalUnitArns?: readonly string[];
  };
}

export interface SandboxPipeline {
  readonly arn: string;
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  status: "ENABLED" | "DISABLED";
  /** The recipe's name as ARNs spell it and its version: an update may point at another one. */
  recipeName: string;
  recipeVersion: string;
  distributions: readonly Distribution[];
  /** Tags every image of the pipeline gets (API: CreateImagePipeline `imageTags`). */
  imageTags?: Record<string, string>;
  /** Its distribution configuration, when created through the API (image-builder-pipelines.ts). */
  distributionConfiguration?: { readonly arn: string; readonly name: string };
  /** Image Builder's own schedule, if any (we warn when both schedule a pipeline). */
  readonly schedule?: { scheduleExpression: string; timezone?: string };
  builds: number;
}

export interface FailurePlan {
  readonly step: "BUILDING" | "TESTING" | "DISTRIBUTING";
  readonly failedStep: string;
  readonly reason: string;
  readonly logLines?: readonly string[];
}

export interface SandboxImage {
  readonly arn: string;
  readonly name: string;
  readonly version: string;
  readonly buildVersion: number;
  readonly pipelineArn: string;
  readonly accountId: string;
  readonly region: string;
  status: ImageStatus;
  reason?: string;
  failure?: FailurePlan;
  readonly createdAt: number;
  amis: Array<{ region: string; image: string; accountId: string; name: string }>;
  readonly history: Array<{ status: ImageStatus; at: number }>;
  /** The pipeline's `imageTags` and the execution's `tags` (StartImagePipelineExecution). */
  tags?: Record<string, string>;
  /** The recipe the image was built from, as GetImage's `imageRecipe` shows it. */
  readonly imageRecipe?: Record<string, unknown>;
}

/**
 * What a build is made from when the pipeline was created through the API: its recipe (a
 * wildcard version resolved when the build starts) and the name images carry.
 */
export interface BuildInputs {
  readonly recipeName: string;
  readonly recipeVersion: string;
  readonly imageName: string;
  readonly imageRecipe: Record<string, unknown>;
}

/** How long each phase of a simulated build takes. */
export interface BuildDurations {
  readonly pendingMs: number;
  readonly buildingMs: number;
  readonly testingMs: number;
  readonly distributingMs: number;
}

export const DEFAULT_BUILD_DURATIONS: BuildDurations = {
  pendingMs: 60_000,
  buildingMs: 20 * 60_000,
  testingMs: 10 * 60_000,
  distributingMs: 8 * 60_000,
};

const NEXT: Partial<Record<ImageStatus, ImageStatus>> = {
  PENDING: "BUILDING",
  BUILDING: "TESTING",
  TESTING: "DISTRIBUTING",
  DISTRIBUTING: "AVAILABLE",
};

export type ImageListener = (image: SandboxImage, previous: ImageStatus) => void;

const shortHash = (text: string, length: number): string =>
  createHash("sha256").update(text).digest("hex").slice(0, length);

/** A UUID derived from `text`, as the API model's workflow and step ids carry (`wf-<uuid>`). */
const uuidOf = (text: string): string =>
  shortHash(text, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");

const WORKFLOWS = [
  { type: "BUILD", phase: "BUILDING" },
  { type: "TEST", phase: "TESTING" },
  { type: "DISTRIBUTION", phase: "DISTRIBUTING" },
] as const;

/** API model WorkflowExecutionId: `^wf-[0-9a-fA-F]{8}-...-[0-9a-fA-F]{12}$`. */
const workflowExecutionId = (imageArn: string, type: string) =>
  `wf-${uuidOf(`${imageArn}|${type}`)}`;

/** EC2 Image Builder, per account and region: pipelines, builds progressing on the clock, tokens. */
export class ImageBuilderModel {
  readonly pipelines = new Map<string, SandboxPipeline>();
  readonly images = new Map<string, SandboxImage>();
  readonly #tokens = new Map<string, { request: string; imageArn: string }>();
  readonly #failures = new Map<string, FailurePlan[]>();
  readonly #listeners: ImageListener[] = [];
  /** Resolves a pipeline's recipe when a build starts (sandbox/model/image-builder-pipelines.ts). */
  buildInputs?: (pipeline: SandboxPipeline) => BuildInputs | undefined;

  constructor(
    private readonly clock: SimClock,
    private readonly durations: BuildDurations = DEFAULT_BUILD_DURATIONS,
  ) {}

  addPipeline(
    pipeline: Omit<SandboxPipeline, "builds" | "status"> & { status?: SandboxPipeline["status"] },
  ): SandboxPipeline {
    const created: SandboxPipeline = {
      ...pipeline,
      status: pipeline.status ?? "ENABLED",
      builds: 0,
    };
    this.pipelines.set(pipeline.arn, created);
    return created;
  }

  /** The next build of this pipeline fails at `plan.step`. */
  failNextBuild(pipelineArn: string, plan: FailurePlan): void {
    const plans = this.#failures.get(pipelineArn) ?? [];
    plans.push(plan);
    this.#failures.set(pipelineArn, plans);
  }

  onImageStateChange(listener: ImageListener): void {
    this.#listeners.push(listener);
  }

  imagesOf(pipelineArn: string): SandboxImage[] {
    return [...this.images.values()].filter((image) => image.pipelineArn === pipelineArn);
  }

  /**
   * The JSON Image Builder publishes to its SNS topic for this image (AVAILABLE or FAILED), with
   * the real message's quirks: a non-ISO `dateCreated` and a `semver` beyond JS integer precision.
   */
  snsMessage(image: SandboxImage): Record<string, unknown> {
    const [major = 0, minor = 0, patch = 0] = image.version.split(".").map(Number);
    return {
      versionlessArn: image.arn.split("/").slice(0, 2).join("/"),
      semver: `${(BigInt(major) << 64n) | (BigInt(minor) << 32n) | BigInt(patch)}${image.buildVersion}`,
      arn: image.arn,
      name: image.name,
      version: image.version,
      type: "AMI",
      buildVersion: image.buildVersion,
      state: { status: image.status, ...(image.reason ? { reason: image.reason } : {}) },
      platform: "Linux",
      sourcePipelineArn: image.pipelineArn,
      dateCreated: new Date(image.createdAt).toUTCString().replace("GMT", "UTC"),
      outputResources: { amis: image.amis },
      distributionConfiguration: this.#distributionConfiguration(image),
      buildExecutionId: `exec-${image.buildVersion}`,
      accountId: image.accountId,
      buildType: "SCHEDULED",
    };
  }

  // --- API -------------------------------------------------------------------------------

  readonly operations = {
    GetImagePipeline: (call: CallContext) => {
      const pipeline = this.#pipeline(call, call.input.imagePipelineArn);
      return {
        imagePipeline: {
          arn: pipeline.arn,
          name: pipeline.name,
          status: pipeline.status,
          imageRecipeArn: `arn:aws:imagebuilder:${pipeline.region}:${pipeline.accountId}:image-recipe/${pipeline.recipeName}/${pipeline.recipeVersion}`,
          ...(pipeline.schedule ? { schedule: pipeline.schedule } : {}),
        },
      };
    },

    ListImagePipelineImages: (call: CallContext) => {
      const pipeline = this.#pipeline(call, call.input.imagePipelineArn);
      const all = this.imagesOf(pipeline.arn).sort((a, b) => b.createdAt - a.createdAt);
      const pageSize = Math.min(Number(call.input.maxResults ?? 25), 25);
      const start = call.input.nextToken ? Number(call.input.nextToken) : 0;
      const page = all.slice(start, start + pageSize);
      return {
        imageSummaryList: page.map((image) => this.#summary(image)),
        ...(start + pageSize < all.length ? { nextToken: String(start + pageSize) } : {}),
      };
    },

    /**
     * Starts a build. `clientToken` makes it idempotent: the same token with the same request
     * answers the image the first call started, and with a different request (another pipeline,
     * other tags) fails with IdempotentParameterMismatchException (API model: clientToken and the
     * error's documentation). `tags` go on the image resource: "Specify tags for Image Builder to
     * apply to the image resource that's created when it starts pipeline execution" (API model,
     * StartImagePipelineExecutionRequest.tags), added to the pipeline's `imageTags`.
     */
    StartImagePipelineExecution: (call: CallContext) => {
      const token = call.input.clientToken;
      if (typeof token !== "string" || token.length < 1 || token.length > 64) {
        throw awsError("InvalidRequestException", "clientToken must be 1-64 characters");
      }
      const pipeline = this.#pipeline(call, call.input.imagePipelineArn);
      const tags = (call.input.tags ?? {}) as Record<string, string>;
      const request = JSON.stringify([pipeline.arn, Object.entries(tags).sort()]);
      const key = `${call.accountId}|${call.region}|${token}`;
      const previous = this.#tokens.get(key);
      if (previous) {
        if (previous.request !== request) {
          throw awsError(
            "IdempotentParameterMismatchException",
            "The client token was already used with different parameters",
          );
        }
        return {
          requestId: "sandbox",
          clientToken: token,
          imageBuildVersionArn: previous.imageArn,
        };
      }
      const image = this.#startBuild(pipeline, tags);
      this.#tokens.set(key, { request, imageArn: image.arn });
      return { requestId: "sandbox", clientToken: token, imageBuildVersionArn: image.arn };
    },

    ListWorkflowExecutions: (call: CallContext) => {
      const image = this.#image(call, call.input.imageBuildVersionArn);
      const reached = new Set(image.history.map((entry) => entry.status));
      const executions = WORKFLOWS.filter((workflow) => reached.has(workflow.phase));
      return {
        workflowExecutions: executions.map((workflow) => {
          const failed = image.failure?.step === workflow.phase && image.status === "FAILED";
          return {
            workflowExecutionId: workflowExecutionId(image.arn, workflow.type),
            type: workflow.type,
            status: failed ? "FAILED" : image.status === workflow.phase ? "RUNNING" : "COMPLETED",
            ...(failed ? { message: `Workflow ${workflow.type.toLowerCase()} failed` } : {}),
          };
        }),
        imageBuildVersionArn: image.arn,
      };
    },

    ListWorkflowStepExecutions: (call: CallContext) => {
      const id = String(call.input.workflowExecutionId);
      let found: { image: SandboxImage; phase: ImageStatus } | undefined;
      for (const image of this.images.values())
        for (const workflow of WORKFLOWS)
          if (workflowExecutionId(image.arn, workflow.type) === id)
            found = { image, phase: workflow.phase };
      if (!found)
        throw awsError("ResourceNotFoundException", `Workflow execution ${id} not found`, 404);
      const { image, phase } = found;
      const failed = image.failure && image.status === "FAILED" && image.failure.step === phase;
      // API model WorkflowStepExecutionId: `^step-<uuid>$`.
      const stepId = (index: number) => `step-${uuidOf(`${id}|${index}`)}`;
      return {
        workflowExecutionId: id,
        steps: [
          {
            stepExecutionId: stepId(1),
            name: "LaunchInstance",
            status: "COMPLETED",
            action: "LaunchInstance",
          },
          ...(failed && image.failure
            ? [
                {
                  stepExecutionId: stepId(2),
                  name: image.failure.failedStep,
                  status: "FAILED",
                  action: "RunCommand",
                  message: image.failure.logLines?.at(-1) ?? image.failure.reason,
                },
              ]
            : []),
        ],
      };
    },

    GetImage: (call: CallContext) => {
      const image = this.images.get(String(call.input.imageBuildVersionArn));
      if (!image || image.accountId !== call.accountId || image.region !== call.region) {
        throw awsError(
          "ResourceNotFoundException",
          `Image ${String(call.input.imageBuildVersionArn)} not found`,
          404,
        );
      }
      return { requestId: "sandbox", image: this.#details(image) };
    },
  };

  // --- internals -------------------------------------------------------------------------

  #image(call: CallContext, arn: unknown): SandboxImage {
    const image = this.images.get(String(arn));
    if (!image || image.accountId !== call.accountId || image.region !== call.region) {
      throw awsError("ResourceNotFoundException", `Image ${String(arn)} not found`, 404);
    }
    return image;
  }

  #pipeline(call: CallContext, arn: unknown): SandboxPipeline {
    const pipeline = this.pipelines.get(String(arn));
    if (!pipeline || pipeline.accountId !== call.accountId || pipeline.region !== call.region) {
      throw awsError(
        "ResourceNotFoundException",
        `The resource ${String(arn)} does not exist in ${call.accountId}/${call.region}`,
        404,
      );
    }
    return pipeline;
  }

  #startBuild(pipeline: SandboxPipeline, tags: Record<string, string> = {}): SandboxImage {
    pipeline.builds += 1;
    const inputs = this.buildInputs?.(pipeline);
    if (inputs) {
      pipeline.recipeName = inputs.recipeName;
      pipeline.recipeVersion = inputs.recipeVersion;
    }
    // Image Builder numbers the builds of one image version: /1, /2... (user guide, semantic
    // versioning: "Image Builder automatically assigns the build number to the fourth node").
    const versionArn = `arn:aws:imagebuilder:${pipeline.region}:${pipeline.accountId}:image/${pipeline.recipeName}/${pipeline.recipeVersion}`;
    const buildVersion =
      Math.max(
        0,
        ...[...this.images.values()]
          .filter((image) => image.arn.startsWith(`${versionArn}/`))
          .map((image) => image.buildVersion),
      ) + 1;
    const arn = `${versionArn}/${buildVersion}`;
    const imageTags = { ...pipeline.imageTags, ...tags };
    const image: SandboxImage = {
      arn,
      name: inputs?.imageName ?? pipeline.recipeName,
      version: pipeline.recipeVersion,
      buildVersion,
      pipelineArn: pipeline.arn,
      accountId: pipeline.accountId,
      region: pipeline.region,
      status: "PENDING",
      createdAt: this.clock.now(),
      amis: [],
      history: [{ status: "PENDING", at: this.clock.now() }],
      ...(Object.keys(imageTags).length > 0 ? { tags: imageTags } : {}),
      ...(inputs ? { imageRecipe: inputs.imageRecipe } : {}),
    };
    const failure = this.#failures.get(pipeline.arn)?.shift();
    if (failure) image.failure = failure;
    this.images.set(arn, image);
    this.clock.after(this.durations.pendingMs, () => this.#advance(image));
    return image;
  }

  #advance(image: SandboxImage): void {
    const previous = image.status;
    if (image.failure && image.failure.step === previous) {
      this.#setStatus(image, "FAILED");
      image.reason = image.failure.reason;
      this.#notify(image, previous);
      return;
    }
    const next = NEXT[previous];
    if (!next) return;
    this.#setStatus(image, next);
    if (next === "AVAILABLE") image.amis = this.#distribute(image);
    this.#notify(image, previous);
    const wait: Partial<Record<ImageStatus, number>> = {
      BUILDING: this.durations.buildingMs,
      TESTING: this.durations.testingMs,
      DISTRIBUTING: this.durations.distributingMs,
    };
    const delay = wait[next];
    if (delay !== undefined) this.clock.after(delay, () => this.#advance(image));
  }

  #setStatus(image: SandboxImage, status: ImageStatus): void {
    image.status = status;
    image.history.push({ status, at: this.clock.now() });
  }

  #notify(image: SandboxImage, previous: ImageStatus): void {
    for (const listener of this.#listeners) listener(image, previous);
  }

  #distribute(image: SandboxImage): SandboxImage["amis"] {
    const pipeline = this.pipelines.get(image.pipelineArn);
    const name = `${image.name} ${new Date(this.clock.now()).toISOString().replace(/:/g, "-")}`;
    const amis: SandboxImage["amis"] = [];
    for (const distribution of pipeline?.distributions ?? []) {
      const accounts = new Set([image.accountId, ...distribution.accountIds]);
      for (const accountId of accounts) {
        amis.push({
          region: distribution.region,
          accountId,
          name,
          image: `ami-0${shortHash(`${image.arn}|${distribution.region}|${accountId}`, 16)}`,
        });
      }
    }
    return amis;
  }

  #summary(image: SandboxImage) {
    return {
      arn: image.arn,
      name: image.name,
      version: `${image.version}/${image.buildVersion}`,
      type: "AMI",
      platform: "Linux",
      state: { status: image.status, ...(image.reason ? { reason: image.reason } : {}) },
      owner: image.accountId,
      dateCreated: new Date(image.createdAt).toISOString(),
      outputResources: { amis: image.amis },
      ...(image.tags && Object.keys(image.tags).length > 0 ? { tags: { ...image.tags } } : {}),
      buildType: "SCHEDULED",
    };
  }

  /** The image's distribution configuration, as GetImage and the SNS message carry it. */
  #distributionConfiguration(image: SandboxImage) {
    const pipeline = this.pipelines.get(image.pipelineArn);
    return {
      arn:
        pipeline?.distributionConfiguration?.arn ??
        `arn:aws:imagebuilder:${image.region}:${image.accountId}:distribution-configuration/${image.name}`,
      name: pipeline?.distributionConfiguration?.name ?? image.name,
      timeoutMinutes: 720,
      distributions: (pipeline?.distributions ?? []).map((distribution) => ({
        region: distribution.region,
        amiDistributionConfiguration: {
          ...(distribution.accountIds.length > 0
            ? { targetAccountIds: [...distribution.accountIds] }
            : {}),
          // The API model's LaunchPermissionConfiguration lists have at least one member
          // (botocore imagebuilder service-2.json: userIds is an AccountList, min 1): empty ones are left out.
          ...(distribution.launchPermission
            ? {
                launchPermission: Object.fromEntries(
                  Object.entries(structuredClone(distribution.launchPermission)).filter(
                    ([, list]) => !Array.isArray(list) || list.length > 0,
                  ),
                ),
              }
            : {}),
        },
      })),
    };
  }

  /**
   * GetImage's `Image`: the summary's members the model's Image has (not `owner`), no
   * `buildVersion` and no `state.failureContext` (the current API reference lists it, but
   * botocore's model and our SDK client do not, so the SDK would drop it).
   */
  #details(image: SandboxImage) {
    const { owner: _owner, ...summary } = this.#summary(image);
    return {
      ...summary,
      version: image.version,
      sourcePipelineArn: image.pipelineArn,
      distributionConfiguration: this.#distributionConfiguration(image),
      ...(image.imageRecipe ? { imageRecipe: structuredClone(image.imageRecipe) } : {}),
    };
  }
}
