import { createHash } from "node:crypto";
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  type EC2Client,
  type LaunchTemplateVersion,
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
  readonly description?: string;
}

export class LaunchTemplateError extends OrchestratorError {}

/**
 * The template version a reference (`$Latest`/`$Default`/`7`) points at, with its launch data
 * (DescribeLaunchTemplateVersions).
 */
export const describeTemplateVersion = async (
  ec2: EC2Client,
  reference: LaunchTemplateReference,
): Promise<LaunchTemplateVersion & { LaunchTemplateId: string; VersionNumber: number }> => {
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
    ...version,
    LaunchTemplateId: version.LaunchTemplateId,
    VersionNumber: version.VersionNumber,
  };
};

/** A described version as the explicit number it is, with its AMI. */
export const resolvedVersion = (
  version: Awaited<ReturnType<typeof describeTemplateVersion>>,
): ResolvedTemplateVersion => ({
  launchTemplateId: version.LaunchTemplateId,
  launchTemplateName: version.LaunchTemplateName ?? version.LaunchTemplateId,
  versionNumber: version.VersionNumber,
  ...(version.LaunchTemplateData?.ImageId ? { imageId: version.LaunchTemplateData.ImageId } : {}),
  ...(version.VersionDescription ? { description: version.VersionDescription } : {}),
});

/**
 * Resolves `$Latest`/`$Default`/`7` to an explicit version and its AMI. Rollback needs the explicit
 * number the group used before, and the new version is built from exactly this one.
 */
export const resolveTemplateVersion = async (
  ec2: EC2Client,
  reference: LaunchTemplateReference,
): Promise<ResolvedTemplateVersion> =>
  resolvedVersion(await describeTemplateVersion(ec2, reference));

/**
 * The description of the versions we create: it names the AMI, the rollout and the version it
 * was made from, so a version found later can be recognised as ours (VersionDescription: ≤255).
 */
export const ownVersionDescription = (parts: {
  amiId: string;
  rolloutId: string;
  sourceVersion: number;
}): string =>
  `ami-orchestrator: ${parts.amiId} from version ${parts.sourceVersion} (rollout ${parts.rolloutId})`.slice(
    0,
    255,
  );

/**
 * The version this rollout's own version was made from, when `version` is one we created for
 * this AMI and rollout (a `$Latest`/`$Default` reference resolved after our version appeared).
 */
export const sourceOfOwnVersion = (
  version: Pick<ResolvedTemplateVersion, "description" | "imageId">,
  parts: { amiId: string; rolloutId: string },
): number | undefined => {
  if (version.imageId !== parts.amiId || !version.description) return undefined;
  const match = /^ami-orchestrator: (\S+) from version (\d+) \(rollout /.exec(version.description);
  if (match?.[1] !== parts.amiId) return undefined;
  const sourceVersion = Number(match[2]);
  return version.description === ownVersionDescription({ ...parts, sourceVersion })
    ? sourceVersion
    : undefined;
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
}

/**
 * One new version of the template, inheriting everything from the version the group uses and
 * changing only ImageId. The ClientToken makes a retried call return the version already created.
 * The template's default version is not moved here: only once a refresh to it has succeeded
 * (`setDefaultVersion`), so a rollback never relaunches the new AMI through `$Default`.
 */
export const createVersionWithAmi = async (
  ec2: EC2Client,
  source: Pick<ResolvedTemplateVersion, "launchTemplateId" | "versionNumber" | "imageId">,
  options: { amiId: string; rolloutId: string },
): Promise<NewTemplateVersion> => {
  if (source.imageId === options.amiId) {
    return {
      launchTemplateId: source.launchTemplateId,
      sourceVersion: source.versionNumber,
      versionNumber: source.versionNumber,
      created: false,
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
      VersionDescription: ownVersionDescription({
        amiId: options.amiId,
        rolloutId: options.rolloutId,
        sourceVersion: source.versionNumber,
      }),
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
  return {
    launchTemplateId: source.launchTemplateId,
    sourceVersion: source.versionNumber,
    versionNumber: created.VersionNumber,
    created: true,
  };
};

/**
 * Makes `versionNumber` the template's default (after a refresh to it succeeded). Setting a
 * default is idempotent by nature, so no fixed ClientToken: EC2 answers a repeated token with
 * the first result "without performing any further actions" (EC2 API idempotency), which would
 * silently skip the change if the default was moved in between (a rollback, a person). The SDK
 * fills a fresh token per call.
 */
export const setDefaultVersion = async (
  ec2: EC2Client,
  launchTemplateId: string,
  versionNumber: number,
): Promise<void> => {
  await ec2.send(
    new ModifyLaunchTemplateCommand({
      LaunchTemplateId: launchTemplateId,
      DefaultVersion: String(versionNumber),
    }),
  );
};
