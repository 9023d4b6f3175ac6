import type { EC2Client, ResponseLaunchTemplateData } from "@aws-sdk/client-ec2";
import { type DiscoveredGroup, strategyRefusal } from "../auto-scaling/groups.ts";
import { refreshModeOf } from "../auto-scaling/instance-refresh.ts";
import { describeImageFacts, planOverrideImages } from "../auto-scaling/override-images.ts";
import type { PipelineConfig } from "../config/schema.ts";
import { type DoctorCheck, fail, pass } from "./report.ts";

/**
 * How a rollout would roll each group, judged as a rollout judges it (lib/auto-scaling): the
 * configured strategy, attribute-based instance types, and the AMIs overrides name themselves.
 * The same words a rollout records, so what the doctor reports is what a rollout would do.
 */
export const checkGroupShapes = async (
  ec2: EC2Client,
  pipeline: PipelineConfig,
  groups: readonly DiscoveredGroup[],
  image: { readonly amiId: string; readonly imageArn: string },
  /** The template versions new ones would be made from (what the groups launch now). */
  sources: ReadonlyMap<string, ResponseLaunchTemplateData>,
): Promise<{ checks: DoctorCheck[] }> => {
  const strategy = pipeline.rollout?.instanceRefresh.strategy ?? "Rolling";
  const overrideImageIds = [...new Set(groups.flatMap((group) => group.overrideImageIds))];
  const facts =
    overrideImageIds.length > 0
      ? await describeImageFacts(ec2, [image.amiId, ...overrideImageIds])
      : new Map();
  const checks: DoctorCheck[] = [];
  for (const group of groups) {
    const check = `shape of ${group.name}`;
    const refused = strategyRefusal(group, strategy);
    if (refused) {
      checks.push(
        fail(
          check,
          refused,
          `set pipelines[${pipeline.name}].rollout.instanceRefresh.strategy to Rolling, or give every override of ${group.name} an ImageId, or leave the group out of the selection`,
        ),
      );
      continue;
    }
    const own = group.launchTemplate?.launchTemplateId
      ? sources.get(group.launchTemplate.launchTemplateId)?.ImageId
      : undefined;
    const plan = planOverrideImages(group, image, new Set(own ? [own] : []), facts);
    if (plan.blocked.length > 0) {
      checks.push(
        fail(
          check,
          plan.blocked.map((blocked) => blocked.reason).join("; "),
          `split ${group.name} per architecture, or build the other architecture with its own pipeline and name that pipeline's AMI in those overrides`,
        ),
      );
      continue;
    }
    const notes = [
      refreshModeOf(group) === "group-update"
        ? "attribute-based instance types: the group is pointed at the new version, then refreshed without a desired configuration or skip matching (AWS refuses both); AWS cannot roll it back, the orchestrator does"
        : `${strategy} refresh with a desired configuration`,
      ...(plan.replacements.size > 0
        ? [`overrides launching ${[...plan.replacements.keys()].join(", ")} get the new AMI`]
        : []),
      ...plan.kept.map((kept) => kept.reason),
    ];
    checks.push(pass(check, notes.join("; ")));
  }
  return { checks };
};
