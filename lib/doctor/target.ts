import { arnParts } from "../aws/arns.ts";
import type { TargetClients } from "../aws/target-clients.ts";
import type { AccountConfig, PipelineConfig } from "../config/schema.ts";
import { errorMessage } from "../errors.ts";
import { checkGroupShapes } from "./group-shapes.ts";
import { type DoctorCheck, fail } from "./report.ts";
import { checkAmi } from "./target/ami.ts";
import type { PlannedTarget, TargetContext } from "./target/context.ts";
import { fix } from "./target/fixes.ts";
import { checkGrants } from "./target/grants.ts";
import { checkGroups } from "./target/groups.ts";
import { checkLaunchPermissions } from "./target/launch.ts";
import { checkServiceLinkedRoles } from "./target/service-linked-roles.ts";
import { checkTemplates } from "./target/templates.ts";

export type { PlannedTarget } from "./target/context.ts";

/**
 * The doctor's checks of one target account and region (items 1 to 5 of `npm run doctor`), in
 * the order a rollout meets them: the role, the groups, their service-linked roles, the AMI and
 * its keys, the grants, the launch templates, and what Auto Scaling checks at the refresh. Reads,
 * DryRuns and simulations only. One file per step under `target/`; the fixes in
 * `target/fixes.ts`.
 */
export const checkTarget = async (
  target: PlannedTarget,
  account: AccountConfig,
  pipeline: PipelineConfig,
  clients: TargetClients,
  /** The latest image, when there is one: how each group would be rolled depends on it. */
  imageArn?: string,
): Promise<DoctorCheck[]> => {
  const { region, accountId } = target;
  const { partition } = arnParts(pipeline.arn);
  const roleArn = `arn:${partition}:iam::${accountId}:role/${account.roleName}`;
  const context: TargetContext = {
    target,
    account,
    pipeline,
    clients,
    region,
    accountId,
    roleArn,
    autoScaling: clients.autoScaling(account, region),
    ec2: clients.ec2(account, region),
    iam: clients.iam(account),
  };
  const checks: DoctorCheck[] = [];
  /** One step's checks; an error nobody expected is that step's ✗, and the next steps still run. */
  const step = async <T>(
    name: string,
    run: () => Promise<{ checks: readonly DoctorCheck[] } & T>,
  ): Promise<T | undefined> => {
    try {
      const result = await run();
      checks.push(...result.checks);
      return result;
    } catch (error) {
      checks.push(fail(name, errorMessage(error), fix.stepFailed));
      return undefined;
    }
  };
  const groups = (await step("groups", () => checkGroups(context)))?.groups;
  if (!groups) return checks;
  const roles = (await step("service-linked role", () => checkServiceLinkedRoles(context, groups)))
    ?.roles;
  // 3 to 5 are about the AMI this target would launch.
  const { amiId } = target;
  if (!amiId) {
    checks.push(
      fail(
        "AMI",
        `the latest image has no AMI for ${accountId}/${region}`,
        fix.distributeAmi(accountId, pipeline.name, region),
      ),
    );
    return checks;
  }
  const ami = await step("AMI", () => checkAmi(context, amiId));
  await step("grants", async () => ({
    checks: await checkGrants(context, ami?.keyArns ?? [], roles ?? []),
  }));
  const templates = await step("templates", () => checkTemplates(context, groups, amiId));
  if (imageArn)
    await step("group shapes", () =>
      checkGroupShapes(
        context.ec2,
        pipeline,
        groups,
        { amiId, imageArn },
        templates?.sources ?? new Map(),
      ),
    );
  // 5. What Auto Scaling checks on the role when the refresh names the new version: RunInstances,
  // PassRole for the instance profile's role, CreateTags for the tag specifications.
  for (const [launchTemplateId, data] of templates?.sources ?? [])
    await step(`launch ${launchTemplateId}`, async () => ({
      checks: [
        await checkLaunchPermissions(context.iam, roleArn, {
          launchTemplateId,
          accountId,
          region,
          data,
          amiId,
          partition,
        }),
      ],
    }));
  return checks;
};
