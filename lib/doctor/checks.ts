import {
  type ImagebuilderClient,
  paginateListImagePipelineImages,
} from "@aws-sdk/client-imagebuilder";
import pMap from "p-map";
import type { AccountConfig, OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { completeFromGetImage, regionOfImageArn } from "../image-builder/get-image.ts";
import { planRollout } from "../rollout/plan.ts";
import type { TargetClients } from "../rollout/roll-out-target.ts";
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

/** The pipeline's newest AVAILABLE image (ListImagePipelineImages, newest first), if any. */
const latestAvailableImage = async (
  client: ImagebuilderClient,
  pipelineArn: string,
): Promise<string | undefined> => {
  let newest: { arn: string; created: string } | undefined;
  for await (const page of paginateListImagePipelineImages(
    { client },
    { imagePipelineArn: pipelineArn },
  )) {
    for (const image of page.imageSummaryList ?? []) {
      if (image.state?.status !== "AVAILABLE" || !image.arn) continue;
      const created = image.dateCreated ?? "";
      if (!newest || created > newest.created) newest = { arn: image.arn, created };
    }
  }
  return newest?.arn;
};

/** Groups items by key, keeping first-seen order. */
const groupBy = <T>(items: readonly T[], key: (item: T) => string): T[][] => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.values()];
};

const checkPipeline = async (
  pipeline: PipelineConfig,
  deps: DoctorDeps,
): Promise<PipelineReport> => {
  const checks: DoctorCheck[] = [];
  const pipelineRegion = pipeline.arn.split(":")[3] ?? "";
  let imageArn: string | undefined;
  let targets: PlannedTarget[] = [];
  try {
    imageArn = await latestAvailableImage(deps.imageBuilder(pipelineRegion), pipeline.arn);
  } catch (error) {
    checks.push(
      fail(
        "latest image",
        errorMessage(error),
        "allow imagebuilder:ListImagePipelineImages on the pipeline",
      ),
    );
  }
  const emptyImage = {
    source: "eventbridge" as const,
    imageArn: "",
    status: "AVAILABLE",
    amis: [],
  };
  if (imageArn) {
    const image = await completeFromGetImage(
      deps.imageBuilder(regionOfImageArn(imageArn) ?? pipelineRegion),
      { ...emptyImage, imageArn },
    );
    checks.push(pass("latest image", `${imageArn} (${image.amis.length} AMIs)`));
    const plan = planRollout(deps.config, pipeline, image);
    targets = [...plan.targets, ...plan.targetsWithoutAmi].sort(
      (a, b) => a.waveIndex - b.waveIndex,
    );
  } else {
    if (checks.length === 0)
      checks.push(
        fail(
          "latest image",
          "no AVAILABLE image yet: AMI, grant and template checks need one",
          `aws imagebuilder start-image-pipeline-execution --image-pipeline-arn ${pipeline.arn}`,
        ),
      );
    // Without an image, the account-side checks still run.
    targets = planRollout(deps.config, pipeline, {
      ...emptyImage,
      imageArn: pipeline.arn,
    }).targetsWithoutAmi.map((target) => target);
  }
  const byAccount = groupBy(targets, (target) => target.accountId);
  const reports = await pMap(byAccount, (accountTargets) =>
    pMap(
      accountTargets,
      async (target): Promise<TargetReport> => {
        const account = deps.config.accounts[target.account] as AccountConfig;
        const targetChecks = await checkTarget(target, account, pipeline, deps.clients).catch(
          (error: unknown) => [fail("target", errorMessage(error), "see the error")],
        );
        // 6. Forwarding, where the role could be assumed (the check reads rules through it).
        if (deps.checkForwarding && targetChecks[0]?.check === "assume role" && targetChecks[0].ok)
          targetChecks.push(
            await deps.checkForwarding({ alias: target.account, account, region: target.region }),
          );
        return {
          wave: target.wave,
          account: target.account,
          accountId: target.accountId,
          region: target.region,
          checks: imageArn ? targetChecks : targetChecks.filter((check) => check.check !== "AMI"),
        };
      },
      { concurrency: deps.perAccountConcurrency ?? 4 },
    ),
  );
  return {
    pipeline: pipeline.name,
    ...(imageArn ? { imageArn } : {}),
    checks,
    targets: reports.flat(),
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
  const [orchestrator, reports] = await Promise.all([
    deps.checkOrchestrator?.() ?? [],
    pMap(pipelines, (pipeline) => checkPipeline(pipeline, deps)),
  ]);
  const all = [
    ...orchestrator,
    ...reports.flatMap((report) => [
      ...report.checks,
      ...report.targets.flatMap((target) => target.checks),
    ]),
  ];
  const failed = all.filter((check) => !check.ok).length;
  return {
    orchestrator,
    pipelines: reports,
    passed: all.length - failed,
    failed,
    ok: failed === 0,
  };
};
