import pMap from "p-map";
import type { DiscoveredGroup, LaunchTemplateReference } from "../../auto-scaling/groups.ts";
import { isRetryable } from "../../errors.ts";
import {
  createVersionWithAmi,
  resolveTemplateVersion,
  sourceOfOwnVersion,
} from "../../launch-templates/versions.ts";
import type { TemplateRecord } from "../store/index.ts";
import type { SavedTemplates, TargetStep } from "./context.ts";
import { templateKey } from "./refresh-group.ts";

/**
 * Step 5 of a target: one new launch-template version per distinct (template, version in use).
 * First the version each reference runs is resolved and saved, for all of them, before anything
 * is created: after a crash (or while another reference to the same template is being rolled),
 * `$Latest` or `$Default` may already name our new version, and the group would look up to date.
 * Then, once the groups that follow `$Latest` are pinned (pin-latest.ts), the versions are
 * created. Each part is recorded on the target before a transient failure is thrown, so a
 * redelivery repeats nothing.
 */

export interface Templates {
  /** By template key (`templateKey`): the version each reference runs, and the new one. */
  readonly records: Record<string, TemplateRecord>;
  /** Why a template could not be resolved or given a version, by key: its groups fail. */
  readonly errors: Map<string, unknown>;
  /** The references of the groups still rolled, by key. */
  readonly references: Map<string, LaunchTemplateReference>;
}

/** 5a. The version each reference runs, resolved once and saved before any is created. */
export const resolveTemplates = async (
  step: TargetStep,
  groups: readonly DiscoveredGroup[],
  saved: SavedTemplates,
): Promise<Templates> => {
  const templates: Templates = { records: { ...saved }, errors: new Map(), references: new Map() };
  for (const group of groups) {
    if (group.launchTemplate) templates.references.set(templateKey(group), group.launchTemplate);
  }
  const ec2 = step.clients.ec2();
  let transient: unknown;
  const unresolved = [...templates.references].filter(([key]) => !templates.records[key]);
  await pMap(
    unresolved,
    async ([key, reference]) => {
      try {
        const resolved = await resolveTemplateVersion(ec2, reference);
        // Our own version for this AMI (created by an earlier delivery): start from its source.
        const ownSource = sourceOfOwnVersion(resolved, {
          amiId: step.work.amiId,
          rolloutId: step.work.rolloutId,
        });
        templates.records[key] = {
          launchTemplateId: resolved.launchTemplateId,
          launchTemplateName: resolved.launchTemplateName,
          sourceVersion: ownSource ?? resolved.versionNumber,
          ...(ownSource === undefined && resolved.imageId
            ? { sourceImageId: resolved.imageId }
            : {}),
        };
      } catch (error) {
        if (isRetryable(error)) transient ??= error;
        else templates.errors.set(key, error);
      }
    },
    { concurrency: step.groupConcurrency },
  );
  if (unresolved.length > 0) await step.saveTarget({ templates: templates.records });
  if (transient) throw transient;
  return templates;
};

/** 5d. A version with the new AMI for each reference still rolled that has none yet. */
export const createTemplateVersions = async (
  step: TargetStep,
  templates: Templates,
): Promise<void> => {
  const { records } = templates;
  const uncreated = [...templates.references.keys()].filter(
    (key) => records[key] && records[key].versionNumber === undefined,
  );
  const ec2 = step.clients.ec2();
  let transient: unknown;
  await pMap(
    uncreated,
    async (key) => {
      const source = records[key] as TemplateRecord;
      try {
        const version = await createVersionWithAmi(
          ec2,
          {
            launchTemplateId: source.launchTemplateId,
            versionNumber: source.sourceVersion,
            ...(source.sourceImageId ? { imageId: source.sourceImageId } : {}),
          },
          { amiId: step.work.amiId, rolloutId: step.work.rolloutId },
        );
        records[key] = {
          ...source,
          versionNumber: version.versionNumber,
          created: version.created,
        };
      } catch (error) {
        if (isRetryable(error)) transient ??= error;
        else templates.errors.set(key, error);
      }
    },
    { concurrency: step.groupConcurrency },
  );
  // Record what was created before failing for a retry: the redelivery will not create it again.
  if (uncreated.length > 0) await step.saveTarget({ templates: records });
  if (transient) throw transient;
};
