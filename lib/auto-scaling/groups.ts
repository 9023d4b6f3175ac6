import {
  type AutoScalingClient,
  type AutoScalingGroup,
  type Filter,
  type MixedInstancesPolicy,
  paginateDescribeAutoScalingGroups,
} from "@aws-sdk/client-auto-scaling";

/** How a group points at its launch template, as written on the group. */
export interface LaunchTemplateReference {
  readonly launchTemplateId?: string;
  readonly launchTemplateName?: string;
  /** `$Latest`, `$Default` or a version number, as the group has it. */
  readonly version: string;
}

export interface DiscoveredGroup {
  readonly name: string;
  /** The service-linked role this group launches with: the grantee its KMS grants need. */
  readonly serviceLinkedRoleArn?: string;
  /** The template, whether top-level or inside a mixed instances policy. */
  readonly launchTemplate?: LaunchTemplateReference;
  /** Kept whole: an instance refresh must carry the full policy or the group drops it. */
  readonly mixedInstancesPolicy?: MixedInstancesPolicy;
  readonly desiredCapacity: number;
  /**
   * Chooses instance types by attributes (an override with `InstanceRequirements`). AWS refuses
   * a refresh with a desired configuration or skip matching on such a group (user guide,
   * instance-refresh-overview, "Limitations"): it is rolled by updating the group first.
   */
  readonly attributeBased: boolean;
  /** The AMIs overrides name with their own `ImageId`, instead of the template's. */
  readonly overrideImageIds: readonly string[];
  /** What the ReplaceRootVolume strategy refuses: a warm pool, load balancing. */
  readonly hasWarmPool?: boolean;
  readonly loadBalanced?: boolean;
}

export interface UnsupportedGroup {
  readonly name: string;
  readonly reason: string;
}

export interface GroupSelector {
  readonly tags?: Readonly<Record<string, string>> | undefined;
  readonly names?: readonly string[] | undefined;
}

export interface GroupDiscovery {
  readonly groups: DiscoveredGroup[];
  /** Groups we found but cannot roll (launch configurations): reported, not crashed on. */
  readonly unsupported: UnsupportedGroup[];
  /** Configured names with no such group in this account and region. */
  readonly missing: string[];
}

/**
 * "By default, you can only specify up to 50 names" per DescribeAutoScalingGroups call (API
 * model, AutoScalingGroupNames).
 */
export const NAMES_PER_CALL = 50;

export const referenceOf = (group: AutoScalingGroup): LaunchTemplateReference | undefined => {
  const spec =
    group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!spec || (!spec.LaunchTemplateId && !spec.LaunchTemplateName)) return undefined;
  return {
    ...(spec.LaunchTemplateId ? { launchTemplateId: spec.LaunchTemplateId } : {}),
    ...(spec.LaunchTemplateName ? { launchTemplateName: spec.LaunchTemplateName } : {}),
    // A group that names a template without a version uses its default version.
    version: spec.Version ?? "$Default",
  };
};

export const classifyGroup = (group: AutoScalingGroup): DiscoveredGroup | UnsupportedGroup => {
  const name = group.AutoScalingGroupName ?? "?";
  const launchTemplate = referenceOf(group);
  if (!launchTemplate) {
    return {
      name,
      reason: group.LaunchConfigurationName
        ? `uses launch configuration ${group.LaunchConfigurationName}; migrate it to a launch template to roll AMIs automatically`
        : "has no launch template",
    };
  }
  // Overrides may launch from other templates, typically another architecture (Graviton next to
  // x86). One image cannot serve both, and refreshing only the main template would leave part of
  // the group on the old AMI: such a group is reported, not half-updated.
  const otherTemplates = [
    ...new Set(
      (group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? []).flatMap((override) => {
        const spec = override.LaunchTemplateSpecification;
        if (!spec) return [];
        const same =
          (spec.LaunchTemplateId !== undefined &&
            spec.LaunchTemplateId === launchTemplate.launchTemplateId) ||
          (spec.LaunchTemplateName !== undefined &&
            spec.LaunchTemplateName === launchTemplate.launchTemplateName);
        return same ? [] : [spec.LaunchTemplateId ?? spec.LaunchTemplateName ?? "?"];
      }),
    ),
  ];
  if (otherTemplates.length > 0) {
    return {
      name,
      reason: `its mixed instances policy overrides launch from other launch templates (${otherTemplates.join(", ")}), usually for another architecture; one image cannot be rolled to them, so the group is not refreshed (roll it by hand, or split it per architecture)`,
    };
  }
  const overrides = group.MixedInstancesPolicy?.LaunchTemplate?.Overrides ?? [];
  return {
    name,
    ...(group.ServiceLinkedRoleARN ? { serviceLinkedRoleArn: group.ServiceLinkedRoleARN } : {}),
    launchTemplate,
    ...(group.MixedInstancesPolicy ? { mixedInstancesPolicy: group.MixedInstancesPolicy } : {}),
    desiredCapacity: group.DesiredCapacity ?? 0,
    attributeBased: overrides.some((override) => override.InstanceRequirements !== undefined),
    overrideImageIds: [
      ...new Set(overrides.flatMap((override) => (override.ImageId ? [override.ImageId] : []))),
    ],
    ...(group.WarmPoolConfiguration ? { hasWarmPool: true } : {}),
    ...((group.LoadBalancerNames?.length ?? 0) +
      (group.TargetGroupARNs?.length ?? 0) +
      (group.TrafficSources?.length ?? 0) >
    0
      ? { loadBalanced: true }
      : {}),
  };
};

/** Finds the configured groups in one account and region, by tags (all must match) or by names. */
export const discoverGroups = async (
  client: AutoScalingClient,
  selector: GroupSelector,
): Promise<GroupDiscovery> => {
  const found: AutoScalingGroup[] = [];
  if (selector.names) {
    for (let start = 0; start < selector.names.length; start += NAMES_PER_CALL) {
      const names = selector.names.slice(start, start + NAMES_PER_CALL);
      for await (const page of paginateDescribeAutoScalingGroups(
        { client },
        { AutoScalingGroupNames: names },
      )) {
        found.push(...(page.AutoScalingGroups ?? []));
      }
    }
  } else {
    const filters: Filter[] = Object.entries(selector.tags ?? {}).map(([key, value]) => ({
      Name: `tag:${key}`,
      Values: [value],
    }));
    for await (const page of paginateDescribeAutoScalingGroups({ client }, { Filters: filters })) {
      found.push(...(page.AutoScalingGroups ?? []));
    }
  }
  const groups: DiscoveredGroup[] = [];
  const unsupported: UnsupportedGroup[] = [];
  for (const group of found) {
    const classified = classifyGroup(group);
    if ("reason" in classified) unsupported.push(classified);
    else groups.push(classified);
  }
  const foundNames = new Set(found.map((group) => group.AutoScalingGroupName));
  const missing = (selector.names ?? []).filter((name) => !foundNames.has(name));
  return { groups, unsupported, missing };
};

/**
 * Why a group cannot be refreshed with the configured strategy, if it cannot. `ReplaceRootVolume`
 * needs a mixed instances policy with an `ImageId` on every override, started with a desired
 * configuration (user guide, instance-refresh-overview, "Requirements for the replace root volume
 * strategy"; API model LaunchTemplateOverrides.ImageId), which AWS refuses for attribute-based
 * groups. Such a group is reported, never rolled another way: that strategy keeps instances,
 * a rolling refresh would replace them.
 */
export const strategyRefusal = (
  group: DiscoveredGroup,
  strategy: "Rolling" | "ReplaceRootVolume",
): string | undefined => {
  if (strategy !== "ReplaceRootVolume") return undefined;
  const overrides = group.mixedInstancesPolicy?.LaunchTemplate?.Overrides ?? [];
  if (overrides.length === 0)
    return "the ReplaceRootVolume strategy needs a mixed instances policy whose every override names an ImageId; this group has none";
  const without = overrides.filter((override) => !override.ImageId);
  if (without.length > 0)
    return `the ReplaceRootVolume strategy needs an ImageId on every override; ${without.length} of ${overrides.length} have none`;
  if (group.attributeBased)
    return "the ReplaceRootVolume strategy needs a desired configuration, which AWS refuses for a group with attribute-based instance type selection (InstanceRequirements)";
  // "You can't start an instance refresh with Replace Root Volume on an EC2 Auto Scaling Group
  // that has a warm pool"; "Root volume replacement doesn't support Elastic Load Balancing"
  // (user guide, replace-root-volume, "Limitations").
  if (group.hasWarmPool)
    return "the ReplaceRootVolume strategy is not available for a group with a warm pool";
  if (group.loadBalanced)
    return "the ReplaceRootVolume strategy does not support groups behind Elastic Load Balancing (load balancers, target groups or traffic sources)";
  return undefined;
};

/** The default Auto Scaling service-linked role of an account. */
export const defaultServiceLinkedRoleArn = (accountId: string, partition = "aws"): string =>
  `arn:${partition}:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
