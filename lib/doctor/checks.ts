import {
  type ImagebuilderClient,
  paginateListImagePipelineImages,
} from "@aws-sdk/client-imagebuilder";
import pMap from "p-map";
import { arnParts } from "../aws/arns.ts";
import type { TargetClients } from "../aws/target-clients.ts";
import type { AccountConfig, OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { completeFromGetImage, regionOfImageArn } from "../image-builder/get-image.ts";
import { compareRolloutIds } from "../rollout/intake.ts";
import { planRollout } from "../rollout/plan.ts";
import {
  type DoctorCheck,
  type DoctorReport,
  fail,
  type PipelineReport,
  pass,
  type TargetReport,
} from "./report.ts";
import { checkTarget, type PlannedTarget } from "./target.ts";

export type { DoctorCheck, DoctorReport, PipelineReport, TargetReport } from "./report.ts";

export interface DoctorDeps {
  readonly config: OrchestratorConfig;
  readonly clients: TargetClients;
  /** Image Builder in the pipeline's region (the orchestrator's own account). */
  readonly imageBuilder: (region: string) => ImagebuilderClient;
  /** Targets of one account checked at once; accounts run side by side. */
  readonly perAccountConcurrency?: number;
  /**
   * The checks of the orchestrator's own deployment (lib/doctor/orchestrator.ts), run once
   * whichever pipelines are checked. Absent: not checked.
   */
  readonly checkOrchestrator?: () => Promise<readonly DoctorCheck[]>;
  /**
   * Item 6: whether the target region forwards its events to the orchestrator's bus
   * (lib/doctor/event-rules.ts), once per account and region. Absent: not checked.
   */
  readonly checkForwarding?: (target: {
    readonly alias: string;
    readonly account: AccountConfig;
    readonly region: string;
  }) => Promise<DoctorCheck>;
}

/**
 * The pipeline's newest AVAILABLE image, if any: by version then build number, node by node
 * (`1.0.10/1` after `1.0.9/3`), as rollouts order images (a rollout id is its image ARN). Not by
 * `dateCreated`, which is not ISO and does not sort as a string.
 */
const latestAvailableImage = async (
  client: ImagebuilderClient,
  pipelineArn: string,
): Promise<string | undefined> => {
  let newest: string | undefined;
  for await (const page of paginateListImagePipelineImages(
    { client },
    { imagePipelineArn: pipelineArn },
  )) {
    for (const image of page.imageSummaryList ?? []) {
      if (image.state?.status !== "AVAILABLE" || !image.arn) continue;
      if (!newest || compareRolloutIds(image.arn, newest) > 0) newest = image.arn;
    }
  }
  return newest;
};

/** Groups items by key, keeping first-seen order. */
const groupBy = <T>(items: readonly T[], key: (item: T) => string): T[][] => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.values()];
};

/** A pipeline's latest image and the targets a rollout of it would have. */
interface PlannedPipeline {
  readonly pipeline: PipelineConfig;
  readonly imageArn?: string;
  readonly checks: readonly DoctorCheck[];
  readonly targets: readonly PlannedTarget[];
}

/** The pipeline's latest AVAILABLE image and its rollout plan; the targets even without one. */
const planPipeline = async (
  pipeline: PipelineConfig,
  deps: DoctorDeps,
): Promise<PlannedPipeline> => {
  const pipelineRegion = arnParts(pipeline.arn).region;
  const emptyImage = {
    source: "eventbridge" as const,
    imageArn: "",
    status: "AVAILABLE",
    amis: [],
  };
  // Without an image, the account-side checks still run.
  const withoutImage = (check: DoctorCheck): PlannedPipeline => ({
    pipeline,
    checks: [check],
    targets: planRollout(deps.config, pipeline, { ...emptyImage, imageArn: pipeline.arn })
      .targetsWithoutAmi,
  });
  let imageArn: string | undefined;
  try {
    imageArn = await latestAvailableImage(deps.imageBuilder(pipelineRegion), pipeline.arn);
  } catch (error) {
    return withoutImage(
      fail(
        "latest image",
        errorMessage(error),
        "allow imagebuilder:ListImagePipelineImages on the pipeline",
      ),
    );
  }
  if (!imageArn)
    return withoutImage(
      fail(
        "latest image",
        "no AVAILABLE image yet: AMI, grant and template checks need one",
        `aws imagebuilder start-image-pipeline-execution --image-pipeline-arn ${pipeline.arn}`,
      ),
    );
  try {
    const image = await completeFromGetImage(
      deps.imageBuilder(regionOfImageArn(imageArn) ?? pipelineRegion),
      { ...emptyImage, imageArn },
    );
    const plan = planRollout(deps.config, pipeline, image);
    return {
      pipeline,
      imageArn,
      checks: [pass("latest image", `${imageArn} (${image.amis.length} AMIs)`)],
      targets: [...plan.targets, ...plan.targetsWithoutAmi].sort(
        (a, b) => a.waveIndex - b.waveIndex,
      ),
    };
  } catch (error) {
    return withoutImage(
      fail("latest image", errorMessage(error), `allow imagebuilder:GetImage on ${imageArn}`),
    );
  }
};

/** Items 1 to 6 for one target of one pipeline. */
const checkPlannedTarget = async (
  planned: PlannedPipeline,
  target: PlannedTarget,
  deps: DoctorDeps,
): Promise<TargetReport> => {
  const account = deps.config.accounts[target.account] as AccountConfig;
  const checks = await checkTarget(
    target,
    account,
    planned.pipeline,
    deps.clients,
    planned.imageArn,
  ).catch((error: unknown) => [fail("target", errorMessage(error), "see the error")]);
  // 6. Forwarding, where the role could be assumed (the check reads rules through it).
  if (deps.checkForwarding && checks[0]?.check === "assume role" && checks[0].ok)
    checks.push(
      await deps.checkForwarding({ alias: target.account, account, region: target.region }),
    );
  return {
    wave: target.wave,
    account: target.account,
    accountId: target.accountId,
    region: target.region,
    checks: planned.imageArn ? checks : checks.filter((check) => check.check !== "AMI"),
  };
};

/** Runs every check of every pipeline (or only `pipelineName`'s). */
export const runDoctor = async (
  deps: DoctorDeps,
  options: { pipeline?: string } = {},
): Promise<DoctorReport> => {
  const pipelines = deps.config.pipelines.filter(
    (pipeline) => pipeline.rollout && (!options.pipeline || pipeline.name === options.pipeline),
  );
  const [orchestrator, planned] = await Promise.all([
    deps.checkOrchestrator?.() ?? [],
    pMap(pipelines, (pipeline) => planPipeline(pipeline, deps), { concurrency: 4 }),
  ]);
  // Every pipeline's targets, a few at a time per account (the account's API rate limits are
  // shared by all its pipelines), accounts side by side.
  const jobs = planned.flatMap((plan) => plan.targets.map((target) => ({ plan, target })));
  const reports = new Map<(typeof jobs)[number], TargetReport>();
  await pMap(
    groupBy(jobs, (job) => job.target.accountId),
    (accountJobs) =>
      pMap(
        accountJobs,
        async (job) => {
          reports.set(job, await checkPlannedTarget(job.plan, job.target, deps));
        },
        { concurrency: deps.perAccountConcurrency ?? 4 },
      ),
  );
  const pipelineReports: PipelineReport[] = planned.map((plan) => ({
    pipeline: plan.pipeline.name,
    ...(plan.imageArn ? { imageArn: plan.imageArn } : {}),
    checks: plan.checks,
    targets: jobs.filter((job) => job.plan === plan).map((job) => reports.get(job) as TargetReport),
  }));
  const all = [
    ...orchestrator,
    ...pipelineReports.flatMap((report) => [
      ...report.checks,
      ...report.targets.flatMap((target) => target.checks),
    ]),
  ];
  const failed = all.filter((check) => !check.ok).length;
  return {
    orchestrator,
    pipelines: pipelineReports,
    passed: all.length - failed,
    failed,
    ok: failed === 0,
  };
};
