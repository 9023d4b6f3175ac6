import {
  CreateLaunchTemplateVersionCommand,
  type ResponseLaunchTemplateData,
} from "@aws-sdk/client-ec2";
import type { DiscoveredGroup } from "../../auto-scaling/groups.ts";
import { errorMessage, errorName } from "../../errors.ts";
import { describeTemplateVersion } from "../../launch-templates/versions.ts";
import { type DoctorCheck, fail, pass } from "../report.ts";
import type { TargetContext } from "./context.ts";
import { fix } from "./fixes.ts";

/**
 * 4. One new launch-template version per template (DryRun: IAM and the managed tag checked); the
 * versions new ones would be made from are what step 5 launches.
 */
export const checkTemplates = async (
  { ec2, region, accountId }: TargetContext,
  groups: readonly DiscoveredGroup[],
  amiId: string,
): Promise<{ checks: DoctorCheck[]; sources: Map<string, ResponseLaunchTemplateData> }> => {
  const checks: DoctorCheck[] = [];
  const templates = new Map<string, DiscoveredGroup>();
  for (const group of groups)
    templates.set(
      `${group.launchTemplate?.launchTemplateId ?? group.launchTemplate?.launchTemplateName}@${group.launchTemplate?.version}`,
      group,
    );
  /** The versions new ones would be made from, by template id: what step 5 launches. */
  const sources = new Map<string, ResponseLaunchTemplateData>();
  for (const group of templates.values()) {
    const reference = group.launchTemplate;
    if (!reference) continue;
    const label = `template ${reference.launchTemplateId ?? reference.launchTemplateName}`;
    // create-tags takes the template's id, never its name.
    let templateId = reference.launchTemplateId ?? reference.launchTemplateName;
    try {
      const source = await describeTemplateVersion(ec2, reference);
      templateId = source.LaunchTemplateId;
      sources.set(source.LaunchTemplateId, source.LaunchTemplateData ?? {});
      await ec2.send(
        new CreateLaunchTemplateVersionCommand({
          LaunchTemplateId: source.LaunchTemplateId,
          SourceVersion: String(source.VersionNumber),
          LaunchTemplateData: { ImageId: amiId },
          DryRun: true,
        }),
      );
      // With DryRun, EC2 answers DryRunOperation when it would succeed: a plain success means
      // the flag was not honoured and a version may exist now. Said loudly, as for the grant.
      checks.push(
        fail(
          label,
          "CreateLaunchTemplateVersion answered without DryRunOperation: a version may have been created",
          fix.checkVersions(templateId, region),
        ),
      );
    } catch (error) {
      if (errorName(error) === "DryRunOperation")
        checks.push(
          pass(label, `version ${reference.version} → new version would be created (DryRun)`),
        );
      else if (errorName(error) === "UnauthorizedOperation")
        checks.push(
          fail(
            label,
            `the target role may not create versions of it: ${errorMessage(error)}`,
            fix.tagTemplate(accountId, region, templateId),
          ),
        );
      else checks.push(fail(label, errorMessage(error), fix.templateVersion));
    }
  }

  return { checks, sources };
};
