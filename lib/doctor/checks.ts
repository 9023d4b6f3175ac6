import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import { CreateLaunchTemplateVersionCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import {
  type ImagebuilderClient,
  paginateListImagePipelineImages,
} from "@aws-sdk/client-imagebuilder";
import { CreateGrantCommand } from "@aws-sdk/client-kms";
import pMap from "p-map";
import {
  type DiscoveredGroup,
  defaultServiceLinkedRoleArn,
  discoverGroups,
} from "../auto-scaling/groups.ts";
import { TargetAccountUnreachableError } from "../aws/credentials.ts";
import type { AccountConfig, OrchestratorConfig, PipelineConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { completeFromGetImage, regionOfImageArn } from "../image-builder/get-image.ts";
import { AUTO_SCALING_GRANT_OPERATIONS, grantName, parseKeyArn } from "../kms/grants.ts";
import { amiEncryption } from "../kms/snapshot-keys.ts";
import { resolveTemplateVersion } from "../launch-templates/versions.ts";
import { planRollout, type RolloutTarget } from "../rollout/plan.ts";
import type { TargetClients } from "../rollout/roll-out-target.ts";

/**
 * `npm run doctor`: for every pipeline, wave, target account and region, would a rollout of the
 * pipeline's latest AVAILABLE image succeed now? Every call is a Describe/List/Get or a DryRun:
 * the doctor never changes anything (the sandbox counts its mutating calls: zero).
 */

export interface DoctorCheck {
  /** What was checked, e.g. "assume role", "group web", "grant <key> → <role>". */
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** On failure, exactly what to do. */
  readonly fix?: string;
}

export interface TargetReport {
  readonly wave: string;
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly checks: readonly DoctorCheck[];
}

export interface PipelineReport {
  readonly pipeline: string;
  /** The image the AMI checks are about: the pipeline's latest AVAILABLE one. */
  readonly imageArn?: string;
  readonly checks: readonly DoctorCheck[];
  readonly targets: readonly TargetReport[];
}

export interface DoctorReport {
  /** The orchestrator's own side: its schedules, subscriptions, rules and Slack parameter. */
  readonly orchestrator: readonly DoctorCheck[];
  readonly pipelines: readonly PipelineReport[];
  readonly passed: number;
  readonly failed: number;
  readonly ok: boolean;
}

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

const MANAGED_TAG = "ami-orchestrator:managed";

const pass = (check: string, detail: string): DoctorCheck => ({ check, ok: true, detail });
const fail = (check: string, detail: string, fix: string): DoctorCheck => ({
  check,
  ok: false,
  detail,
  fix,
});

const nameOf = (error: unknown) => (error instanceof Error ? error.name : "");

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

/** Tags of the groups, read in one call (the role may DescribeAutoScalingGroups on *). */
const groupTags = async (
  client: AutoScalingClient,
  names: readonly string[],
): Promise<Map<string, Record<string, string>>> => {
  const tags = new Map<string, Record<string, string>>();
  for (let start = 0; start < names.length; start += 100) {
    const { AutoScalingGroups: groups = [] } = await client.send(
      new DescribeAutoScalingGroupsCommand({
        AutoScalingGroupNames: names.slice(start, start + 100),
      }),
    );
    for (const group of groups)
      tags.set(
        group.AutoScalingGroupName ?? "",
        Object.fromEntries((group.Tags ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""])),
      );
  }
  return tags;
};

const keyPolicyStatement = (accountId: string) =>
  JSON.stringify({
    Sid: `AllowAmiOrchestratorGrants${accountId}`,
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${accountId}:root` },
    Action: ["kms:DescribeKey", "kms:CreateGrant"],
    Resource: "*",
  });

/** All checks of one target, in the order a rollout would meet them; stops where it must. */
const checkTarget = async (
  target: Omit<RolloutTarget, "amiId"> & { amiId?: string },
  account: AccountConfig,
  pipeline: PipelineConfig,
  deps: DoctorDeps,
): Promise<DoctorCheck[]> => {
  const checks: DoctorCheck[] = [];
  const { region, accountId } = target;
  const roleArn = `arn:aws:iam::${accountId}:role/${account.roleName}`;
  const autoScaling = deps.clients.autoScaling(account, region);
  const ec2 = deps.clients.ec2(account, region);
  const selector = pipeline.rollout?.autoScalingGroups ?? {};

  // 1. AssumeRole with the ExternalId: the first call in the account assumes the role.
  let groups: DiscoveredGroup[];
  try {
    const discovery = await discoverGroups(autoScaling, selector);
    checks.push(pass("assume role", `${roleArn} with the configured ExternalId`));
    groups = discovery.groups;
    // 2. The groups, as a rollout would select them.
    const tags = await groupTags(
      autoScaling,
      groups.map((group) => group.name),
    );
    for (const group of groups) {
      const template = group.launchTemplate;
      const detail = `launch template ${template?.launchTemplateId ?? template?.launchTemplateName} @ ${template?.version}${group.mixedInstancesPolicy ? " (mixed instances policy)" : ""}`;
      if (tags.get(group.name)?.[MANAGED_TAG] !== "true")
        checks.push(
          fail(
            `group ${group.name}`,
            `${detail}; not tagged ${MANAGED_TAG}=true: the target role (RequireManagedTag=true) may not update or refresh it`,
            `aws autoscaling create-or-update-tags --region ${region} --tags ResourceId=${group.name},ResourceType=auto-scaling-group,Key=${MANAGED_TAG},Value=true,PropagateAtLaunch=false`,
          ),
        );
      else checks.push(pass(`group ${group.name}`, detail));
    }
    for (const group of discovery.unsupported)
      checks.push(
        fail(
          `group ${group.name}`,
          group.reason,
          "use a launch template (aws autoscaling update-auto-scaling-group --launch-template ...), or leave the group out of the selection",
        ),
      );
    for (const name of discovery.missing)
      checks.push(
        fail(
          `group ${name}`,
          `no group named ${name} in ${accountId}/${region}`,
          `create it, or remove it from pipelines[${pipeline.name}].rollout.autoScalingGroups.names`,
        ),
      );
    if (groups.length + discovery.unsupported.length + discovery.missing.length === 0)
      checks.push(
        fail(
          "groups",
          `no group matches ${JSON.stringify(selector)} in ${accountId}/${region}`,
          `tag the groups ${Object.entries(selector.tags ?? {})
            .map(([key, value]) => `${key}=${value}`)
            .join(", ")}, or remove ${region} from the wave`,
        ),
      );
  } catch (error) {
    if (error instanceof TargetAccountUnreachableError || /AssumeRole/.test(errorMessage(error))) {
      checks.push(
        fail(
          "assume role",
          errorMessage(error),
          `deploy templates/target-account-role.yml in ${accountId} with RoleName=${account.roleName}, OrchestratorAccountId set to this account, the deployed stage, and ExternalId equal to accounts.${target.account}.externalId`,
        ),
      );
      return checks;
    }
    checks.push(fail("groups", errorMessage(error), "allow autoscaling:DescribeAutoScalingGroups"));
    return checks;
  }

  // Service-linked roles: each group's, or the account's default one.
  const roles = [
    ...new Set(
      groups.map((group) => group.serviceLinkedRoleArn ?? defaultServiceLinkedRoleArn(accountId)),
    ),
  ];
  for (const roleArn of roles) {
    const roleName = roleArn.split("/").at(-1) ?? roleArn;
    try {
      await deps.clients.iam(account).send(new GetRoleCommand({ RoleName: roleName }));
      checks.push(pass(`service-linked role ${roleName}`, "exists"));
    } catch (error) {
      const suffix = roleName.split("_")[1];
      checks.push(
        nameOf(error) === "NoSuchEntityException"
          ? fail(
              `service-linked role ${roleName}`,
              `${roleArn} does not exist: grants to it fail and the groups cannot launch`,
              `aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com${suffix ? ` --custom-suffix ${suffix}` : ""}`,
            )
          : fail(`service-linked role ${roleName}`, errorMessage(error), "allow iam:GetRole on it"),
      );
    }
  }

  // 3. The AMI this target would launch, and its snapshot keys.
  if (!target.amiId) {
    checks.push(
      fail(
        "AMI",
        `the latest image has no AMI for ${accountId}/${region}`,
        `add ${accountId} to the distribution configuration of ${pipeline.name} in ${region} (targetAccountIds, or a launchPermission)`,
      ),
    );
    return checks;
  }
  let keyArns: readonly string[] = [];
  try {
    const encryption = await amiEncryption(target.amiId, {
      target: ec2,
      targetAccountId: accountId,
      owner: (ownerId) => deps.clients.ownerEc2(ownerId, region),
    });
    keyArns = encryption.keyArns;
    checks.push(
      pass(
        "AMI",
        `${target.amiId} ${target.sharedFrom ? `shared from ${target.sharedFrom}` : "copied here"}; keys: ${keyArns.join(", ") || "none"}`,
      ),
    );
  } catch (error) {
    checks.push(
      fail(
        "AMI",
        errorMessage(error),
        "check the distribution configuration (the AMI must be copied to, or shared with, this account)",
      ),
    );
  }

  // KMS: would CreateGrant, as roll-out-target makes it, succeed (DryRun) for each key × role.
  const kms = deps.clients.kms(account, region);
  for (const keyArn of keyArns)
    for (const grantee of roles) {
      const check = `grant ${keyArn.split("/").at(-1)} → ${grantee.split("/").at(-1)}`;
      try {
        await kms.send(
          new CreateGrantCommand({
            KeyId: keyArn,
            GranteePrincipal: grantee,
            Operations: [...AUTO_SCALING_GRANT_OPERATIONS],
            Name: grantName(keyArn, grantee),
            DryRun: true,
          }),
        );
        // With DryRun, AWS answers DryRunOperationException when it would succeed: a plain
        // success means the flag was not honoured and a grant may exist now. Said loudly.
        checks.push(
          fail(
            check,
            "CreateGrant answered without DryRunOperationException: a grant may have been created",
            `check the grants on ${keyArn} (aws kms list-grants --key-id ${keyArn})`,
          ),
        );
      } catch (error) {
        if (nameOf(error) === "DryRunOperationException")
          checks.push(pass(check, "CreateGrant would succeed (DryRun)"));
        else
          checks.push(
            fail(
              check,
              errorMessage(error),
              `add to the key policy of ${keyArn} (account ${parseKeyArn(keyArn)?.accountId ?? "?"}): ${keyPolicyStatement(accountId)}; and list the key in the target stack's KmsKeyArns`,
            ),
          );
      }
    }

  // 4. One new launch-template version per template (DryRun: IAM and the managed tag checked).
  const templates = new Map<string, DiscoveredGroup>();
  for (const group of groups)
    templates.set(
      `${group.launchTemplate?.launchTemplateId ?? group.launchTemplate?.launchTemplateName}@${group.launchTemplate?.version}`,
      group,
    );
  for (const group of templates.values()) {
    const reference = group.launchTemplate;
    if (!reference) continue;
    const label = `template ${reference.launchTemplateId ?? reference.launchTemplateName}`;
    try {
      const source = await resolveTemplateVersion(ec2, reference);
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: source.launchTemplateId,
          SourceVersion: String(source.versionNumber),
          LaunchTemplateData: { ImageId: target.amiId },
          DryRun: true,
        }),
      );
      checks.push(pass(label, "CreateLaunchTemplateVersion accepted"));
    } catch (error) {
      if (nameOf(error) === "DryRunOperation")
        checks.push(
          pass(label, `version ${reference.version} → new version would be created (DryRun)`),
        );
      else if (nameOf(error) === "UnauthorizedOperation")
        checks.push(
          fail(
            label,
            `the target role may not create versions of it: ${errorMessage(error)}`,
            `aws ec2 create-tags --region ${region} --resources ${reference.launchTemplateId ?? reference.launchTemplateName} --tags Key=${MANAGED_TAG},Value=true (or deploy the target stack with RequireManagedTag=false)`,
          ),
        );
      else
        checks.push(
          fail(label, errorMessage(error), "point the group at an existing template version"),
        );
    }
  }
  return checks;
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
  let targets: Array<Omit<RolloutTarget, "amiId"> & { amiId?: string }> = [];
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
        const targetChecks = await checkTarget(target, account, pipeline, deps).catch(
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
