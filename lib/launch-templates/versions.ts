import { createHash } from "node:crypto";
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  ModifyLaunchTemplateCommand,
} from "@aws-sdk/client-ec2";
import type { LaunchTemplateReference } from "../auto-scaling/groups.ts";
import { OrchestratorError } from "../errors.ts";

/** A group's template version pinned to a number, with the AMI it launches. */
export interface ResolvedTemplateVersion {
  readonly launchTemplateId: string;
  readonly launchTemplateName: string;
  readonly versionNumber: number;
  readonly imageId?: string;
}

export class LaunchTemplateError extends OrchestratorError {}

/**
 * Resolves `$Latest`/`$Default`/`7` to an explicit version and its AMI. Rollback needs the explicit
 * number the group used before, and the new version is built from exactly this one.
 */
export const resolveTemplateVersion = async (
  ec2: EC2Client,
  reference: LaunchTemplateReference,
): Promise<ResolvedTemplateVersion> => {
  const { LaunchTemplateVersions: versions = [] } = await ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      ...(reference.launchTemplateId
        ? { LaunchTemplateId: reference.launchTemplateId }
        : { LaunchTemplateName: reference.launchTemplateName }),
      Versions: [reference.version],
    }),
  );
  const version = versions[0];
  if (!version?.LaunchTemplateId || version.VersionNumber === undefined) {
    throw new LaunchTemplateError(
      `launch template ${reference.launchTemplateId ?? reference.launchTemplateName} has no version ${reference.version}`,
    );
  }
  return {
    launchTemplateId: version.LaunchTemplateId,
    launchTemplateName: version.LaunchTemplateName ?? version.LaunchTemplateId,
    versionNumber: version.VersionNumber,
    ...(version.LaunchTemplateData?.ImageId ? { imageId: version.LaunchTemplateData.ImageId } : {}),
  };
};

/** ≤128 ASCII; the same rollout, template, base version and AMI always give the same token. */
export const launchTemplateClientToken = (parts: {
  rolloutId: string;
  launchTemplateId: string;
  sourceVersion: number;
  amiId: string;
}): string =>
  createHash("sha256")
    .update([parts.rolloutId, parts.launchTemplateId, parts.sourceVersion, parts.amiId].join("|"))
    .digest("hex");

export interface NewTemplateVersion {
  readonly launchTemplateId: string;
  readonly sourceVersion: number;
  readonly versionNumber: number;
  /** False when the source version already launches this AMI: nothing was created. */
  readonly created: boolean;
  readonly setAsDefault: boolean;
}

/**
 * One new version of the template, inheriting everything from the version the group uses and
 * changing only ImageId. The ClientToken makes a retried call return the version already created.
 */
export const createVersionWithAmi = async (
  ec2: EC2Client,
  source: ResolvedTemplateVersion,
  options: { amiId: string; rolloutId: string; setDefaultVersion: boolean },
): Promise<NewTemplateVersion> => {
  if (source.imageId === options.amiId) {
    return {
      launchTemplateId: source.launchTemplateId,
      sourceVersion: source.versionNumber,
      versionNumber: source.versionNumber,
      created: false,
      setAsDefault: false,
    };
  }
  const token = launchTemplateClientToken({
    rolloutId: options.rolloutId,
    launchTemplateId: source.launchTemplateId,
    sourceVersion: source.versionNumber,
    amiId: options.amiId,
  });
  const { LaunchTemplateVersion: created, Warning: warning } = await ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: source.launchTemplateId,
      SourceVersion: String(source.versionNumber),
      VersionDescription: `ami-orchestrator: ${options.amiId} (rollout ${options.rolloutId})`.slice(
        0,
        255,
      ),
      LaunchTemplateData: { ImageId: options.amiId },
      ClientToken: token,
    }),
  );
  if (created?.VersionNumber === undefined) {
    throw new LaunchTemplateError(
      `CreateLaunchTemplateVersion on ${source.launchTemplateId} returned no version`,
      {
        retryable: true,
      },
    );
  }
  const errors = warning?.Errors ?? [];
  if (errors.length > 0) {
    // EC2 accepts a version with invalid parameters and only warns; instances would fail at launch.
    throw new LaunchTemplateError(
      `launch template ${source.launchTemplateId} version ${created.VersionNumber} has errors: ${errors.map((error) => `${error.Code}: ${error.Message}`).join("; ")}`,
    );
  }
  if (options.setDefaultVersion) {
    await ec2.send(
      new ModifyLaunchTemplateCommand({
        LaunchTemplateId: source.launchTemplateId,
        DefaultVersion: String(created.VersionNumber),
        ClientToken: `${token.slice(0, 60)}-default`,
      }),
    );
  }
  return {
    launchTemplateId: source.launchTemplateId,
    sourceVersion: source.versionNumber,
    versionNumber: created.VersionNumber,
    created: true,
    setAsDefault: options.setDefaultVersion,
  };
};
