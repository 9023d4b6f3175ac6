import {
  type AutoScalingClient,
  paginateDescribeAutoScalingGroups,
} from "@aws-sdk/client-auto-scaling";
import { type DiscoveredGroup, discoverGroups, NAMES_PER_CALL } from "../../auto-scaling/groups.ts";
import { TargetAccountUnreachableError } from "../../aws/credentials.ts";
import { errorMessage } from "../../errors.ts";
import { groupRequests } from "../launch-permissions.ts";
import { type DoctorCheck, fail, pass } from "../report.ts";
import { MANAGED_TAG, type TargetContext } from "./context.ts";
import { fix } from "./fixes.ts";
import { refusedOutsideTheStack, simulated, untestedKeys } from "./simulation.ts";

/** Tags and ARN of the groups, read in one call (the role may DescribeAutoScalingGroups on *). */
const describedGroups = async (
  client: AutoScalingClient,
  names: readonly string[],
): Promise<Map<string, { arn: string; tags: Record<string, string> }>> => {
  const described = new Map<string, { arn: string; tags: Record<string, string> }>();
  for (let start = 0; start < names.length; start += NAMES_PER_CALL) {
    for await (const page of paginateDescribeAutoScalingGroups(
      { client },
      { AutoScalingGroupNames: names.slice(start, start + NAMES_PER_CALL) },
    ))
      for (const group of page.AutoScalingGroups ?? [])
        described.set(group.AutoScalingGroupName ?? "", {
          arn: group.AutoScalingGroupARN ?? "",
          tags: Object.fromEntries(
            (group.Tags ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]),
          ),
        });
  }
  return described;
};

/** 1 and 2: the role can be assumed, and the groups, as a rollout selects them. No groups: stop. */
export const checkGroups = async (
  context: TargetContext,
): Promise<{ checks: DoctorCheck[]; groups?: DiscoveredGroup[] }> => {
  const { target, account, pipeline, region, accountId, roleArn, autoScaling, iam } = context;
  const checks: DoctorCheck[] = [];
  const selector = pipeline.rollout?.autoScalingGroups ?? {};
  // The first call in the account assumes the role (with the ExternalId).
  let groups: DiscoveredGroup[];
  try {
    const discovery = await discoverGroups(autoScaling, selector);
    checks.push(pass("assume role", `${roleArn} with the configured ExternalId`));
    groups = discovery.groups;
    // 2. The groups, as a rollout would select them, and whether the role may act on each
    // (simulated with the group's real tags: the managed tag matters only where the role
    // requires it).
    const described = await describedGroups(
      autoScaling,
      groups.map((group) => group.name),
    );
    const simulation = await simulated(
      iam,
      roleArn,
      groups.flatMap((group) => {
        const found = described.get(group.name);
        return found ? groupRequests(found.arn, found.tags) : [];
      }),
    ).catch((error: unknown) => ({ unavailable: errorMessage(error) }));
    for (const group of groups) {
      const template = group.launchTemplate;
      const detail = `launch template ${template?.launchTemplateId ?? template?.launchTemplateName} @ ${template?.version}${group.mixedInstancesPolicy ? " (mixed instances policy)" : ""}`;
      const found = described.get(group.name);
      const tagged = found?.tags[MANAGED_TAG] === "true";
      const check = `group ${group.name}`;
      if ("unavailable" in simulation) {
        // Not simulated: the tag is all we can see. Untagged is refused by a role deployed with
        // RequireManagedTag=true (the default); the launch check says the simulation is missing.
        checks.push(
          tagged
            ? pass(check, `${detail}; tagged ${MANAGED_TAG}=true (not simulated)`)
            : fail(
                check,
                `${detail}; not tagged ${MANAGED_TAG}=true, which a target role deployed with RequireManagedTag=true (the default) requires; whether this one does could not be simulated: ${simulation.unavailable}`,
                fix.tagGroupOrUpdateStack(accountId, region, group.name),
              ),
        );
        continue;
      }
      const refused = simulation.results.filter(
        (request) => request.resource === found?.arn && request.decision !== "allowed",
      );
      if (refused.length === 0) {
        checks.push(
          pass(
            check,
            `${detail}; the target role may refresh and update it${tagged ? "" : ` (not tagged ${MANAGED_TAG}=true: this role does not require it)`}${untestedKeys(simulation.results.filter((request) => request.resource === found?.arn))}`,
          ),
        );
        continue;
      }
      const tagMissing =
        !tagged &&
        (found?.tags[MANAGED_TAG] !== undefined ||
          refused.some((request) =>
            request.missingContext.some((key) =>
              key.toLowerCase().endsWith(`resourcetag/${MANAGED_TAG}`),
            ),
          ));
      checks.push(
        fail(
          check,
          `${detail}; the target role may not ${[...new Set(refused.map((request) => request.action.replace("autoscaling:", "")))].join(", ")} on it (${[...new Set(refused.map((request) => request.decision))].join(", ")})${tagMissing ? `: it is not tagged ${MANAGED_TAG}=true, which the role requires (RequireManagedTag=true)` : ""}`,
          tagMissing
            ? fix.tagGroup(accountId, region, group.name)
            : refused.some(refusedOutsideTheStack)
              ? fix.outsideTheStack(refused, roleArn)
              : fix.groupActions(accountId),
        ),
      );
    }
    for (const group of discovery.unsupported)
      checks.push(fail(`group ${group.name}`, group.reason, fix.useLaunchTemplate));
    for (const name of discovery.missing)
      checks.push(
        fail(
          `group ${name}`,
          `no group named ${name} in ${accountId}/${region}`,
          fix.missingGroup(pipeline.name),
        ),
      );
    if (groups.length + discovery.unsupported.length + discovery.missing.length === 0)
      checks.push(
        fail(
          "groups",
          `no group matches ${JSON.stringify(selector)} in ${accountId}/${region}`,
          fix.noGroups(selector.tags ?? {}, region),
        ),
      );
  } catch (error) {
    if (error instanceof TargetAccountUnreachableError || /AssumeRole/.test(errorMessage(error))) {
      checks.push(
        fail(
          "assume role",
          errorMessage(error),
          fix.assumeRole(accountId, account.roleName, target.account),
        ),
      );
      return { checks };
    }
    checks.push(fail("groups", errorMessage(error), fix.describeGroups));
    return { checks };
  }
  return { checks, groups };
};
