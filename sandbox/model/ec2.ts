import { createHash } from "node:crypto";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

export interface SandboxSnapshot {
  readonly snapshotId: string;
  readonly ownerId: string;
  readonly region: string;
  readonly kmsKeyId?: string;
}

export interface SandboxAmi {
  readonly imageId: string;
  readonly ownerId: string;
  readonly region: string;
  readonly name: string;
  readonly snapshotIds: readonly string[];
  /** Accounts the AMI is shared with (launch permissions). */
  readonly sharedWith: Set<string>;
  /** DescribeImages `Architecture` (API model ArchitectureValues). */
  readonly architecture: "x86_64" | "arm64";
  /** The owner's tags (Image Builder tags its outputs: see world-from-config). */
  readonly tags: Readonly<Record<string, string>>;
}

export interface TemplateVersion {
  readonly versionNumber: number;
  readonly data: Record<string, unknown>;
  readonly description?: string;
}

export interface SandboxLaunchTemplate {
  readonly id: string;
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly versions: TemplateVersion[];
  defaultVersion: number;
  /** Resource tags (IAM policies condition on them: aws:ResourceTag/...). */
  readonly tags?: Record<string, string>;
}

const id = (prefix: string, seed: string, length = 17) =>
  `${prefix}-0${createHash("sha256")
    .update(seed)
    .digest("hex")
    .slice(0, length - 1)}`;

/** EC2, per account and region: AMIs, their EBS snapshots, launch templates and their versions. */
export class Ec2Model {
  readonly images = new Map<string, SandboxAmi>();
  readonly snapshots = new Map<string, SandboxSnapshot>();
  readonly templates = new Map<string, SandboxLaunchTemplate>();
  readonly #tokens = new Map<
    string,
    { templateId: string; versionNumber: number; fingerprint: string }
  >();

  /** An AMI backed by one snapshot per `kmsKeyIds` entry (undefined: unencrypted). */
  registerImage(image: {
    imageId: string;
    ownerId: string;
    region: string;
    name: string;
    kmsKeyIds: ReadonlyArray<string | undefined>;
    sharedWith?: string[];
    architecture?: "x86_64" | "arm64";
    tags?: Record<string, string>;
  }): SandboxAmi {
    const snapshotIds = image.kmsKeyIds.map((kmsKeyId, index) => {
      const snapshotId = id("snap", `${image.imageId}|${index}`);
      this.snapshots.set(snapshotId, {
        snapshotId,
        ownerId: image.ownerId,
        region: image.region,
        ...(kmsKeyId ? { kmsKeyId } : {}),
      });
      return snapshotId;
    });
    const ami: SandboxAmi = {
      imageId: image.imageId,
      ownerId: image.ownerId,
      region: image.region,
      name: image.name,
      snapshotIds,
      sharedWith: new Set(image.sharedWith ?? []),
      architecture: image.architecture ?? "x86_64",
      tags: image.tags ?? {},
    };
    this.images.set(image.imageId, ami);
    return ami;
  }

  addLaunchTemplate(template: {
    accountId: string;
    region: string;
    name: string;
    imageId: string;
    instanceType?: string;
    tags?: Record<string, string>;
    /** More launch template data (IamInstanceProfile, TagSpecifications...). */
    data?: Record<string, unknown>;
  }): SandboxLaunchTemplate {
    const created: SandboxLaunchTemplate = {
      id: id("lt", `${template.accountId}|${template.region}|${template.name}`),
      name: template.name,
      accountId: template.accountId,
      region: template.region,
      versions: [
        {
          versionNumber: 1,
          data: {
            ImageId: template.imageId,
            InstanceType: template.instanceType ?? "t3.micro",
            ...template.data,
          },
        },
      ],
      defaultVersion: 1,
      ...(template.tags ? { tags: template.tags } : {}),
    };
    this.templates.set(created.id, created);
    return created;
  }

  /** The version a reference (`$Latest`, `$Default`, `3`) means. */
  resolveVersion(template: SandboxLaunchTemplate, version: string): TemplateVersion | undefined {
    const number =
      version === "$Latest"
        ? template.versions.length
        : version === "$Default"
          ? template.defaultVersion
          : Number(version);
    return template.versions.find((candidate) => candidate.versionNumber === number);
  }

  findTemplate(
    call: { accountId: string; region: string },
    input: Record<string, unknown>,
  ): SandboxLaunchTemplate {
    const template = input.LaunchTemplateId
      ? this.templates.get(String(input.LaunchTemplateId))
      : [...this.templates.values()].find(
          (candidate) =>
            candidate.name === input.LaunchTemplateName &&
            candidate.accountId === call.accountId &&
            candidate.region === call.region,
        );
    if (!template || template.accountId !== call.accountId || template.region !== call.region) {
      throw awsError(
        "InvalidLaunchTemplateId.NotFound",
        `The specified launch template, with template ID ${String(input.LaunchTemplateId ?? input.LaunchTemplateName)}, does not exist.`,
      );
    }
    return template;
  }

  #versionShape(template: SandboxLaunchTemplate, version: TemplateVersion) {
    return {
      LaunchTemplateId: template.id,
      LaunchTemplateName: template.name,
      VersionNumber: version.versionNumber,
      DefaultVersion: version.versionNumber === template.defaultVersion,
      ...(version.description ? { VersionDescription: version.description } : {}),
      LaunchTemplateData: version.data,
    };
  }

  readonly operations = {
    DescribeImages: (call: CallContext) => {
      const ids = (call.input.ImageIds as string[] | undefined) ?? [];
      const filters = (call.input.Filters as Array<{ Name: string; Values: string[] }>) ?? [];
      const filtered = filters.flatMap((filter) => {
        if (filter.Name !== "image-id")
          throw awsError("InvalidParameterValue", `the sandbox models the image-id filter only`);
        return filter.Values;
      });
      const seen = (imageId: string) => {
        const image = this.images.get(imageId);
        return image &&
          image.region === call.region &&
          (image.ownerId === call.accountId || image.sharedWith.has(call.accountId))
          ? [image]
          : [];
      };
      // A filter matches what exists and never fails on an id that does not (EC2 API reference,
      // DescribeImages: filters narrow the result; explicit ImageIds must all exist).
      const visible = [...ids.flatMap(seen), ...filtered.flatMap(seen)];
      if (visible.length - filtered.flatMap(seen).length < ids.length) {
        const missing = ids.filter(
          (imageId) => !visible.some((image) => image.imageId === imageId),
        );
        throw awsError(
          "InvalidAMIID.NotFound",
          `The image id '[${missing.join(", ")}]' does not exist`,
        );
      }
      return {
        Images: visible.map((image) => ({
          ImageId: image.imageId,
          OwnerId: image.ownerId,
          Name: image.name,
          State: "available",
          Architecture: image.architecture,
          // Tags belong to the account that set them: another account sees a shared AMI
          // without its owner's tags (EC2 user guide, "Tag your Amazon EC2 resources").
          ...(image.ownerId === call.accountId && Object.keys(image.tags).length > 0
            ? { Tags: Object.entries(image.tags).map(([Key, Value]) => ({ Key, Value })) }
            : {}),
          BlockDeviceMappings: image.snapshotIds.map((snapshotId, index) => {
            const snapshot = this.snapshots.get(snapshotId);
            return {
              DeviceName: index === 0 ? "/dev/xvda" : `/dev/xvd${String.fromCharCode(98 + index)}`,
              Ebs: {
                SnapshotId: snapshotId,
                Encrypted: Boolean(snapshot?.kmsKeyId),
                VolumeSize: 8,
              },
            };
          }),
        })),
      };
    },

    // A snapshot is visible to its owner (or with createVolumePermission, never granted here): an
    // account launching a shared AMI cannot describe its snapshots. EC2 API reference,
    // DescribeSnapshots ("private snapshots owned by other AWS accounts for which you have explicit
    // create volume permissions"); by id, AWS answers InvalidSnapshot.NotFound (EC2 API error
    // codes). The reference also says an inaccessible id may just be left out of the results:
    // callers must handle both.
    DescribeSnapshots: (call: CallContext) => {
      const ids = (call.input.SnapshotIds as string[] | undefined) ?? [];
      return {
        Snapshots: ids.map((snapshotId) => {
          const snapshot = this.snapshots.get(snapshotId);
          if (!snapshot || snapshot.ownerId !== call.accountId || snapshot.region !== call.region) {
            throw awsError(
              "InvalidSnapshot.NotFound",
              `The snapshot '${snapshotId}' does not exist.`,
            );
          }
          return {
            SnapshotId: snapshot.snapshotId,
            OwnerId: snapshot.ownerId,
            Encrypted: Boolean(snapshot.kmsKeyId),
            ...(snapshot.kmsKeyId ? { KmsKeyId: snapshot.kmsKeyId } : {}),
            State: "completed",
          };
        }),
      };
    },

    DescribeLaunchTemplateVersions: (call: CallContext) => {
      const template = this.findTemplate(call, call.input);
      const wanted = (call.input.Versions as string[] | undefined) ?? ["$Latest"];
      const versions = wanted.map((reference) => {
        const version = this.resolveVersion(template, reference);
        if (!version)
          throw awsError(
            "InvalidLaunchTemplateId.VersionNotFound",
            `Could not find launch template version ${reference}`,
          );
        return this.#versionShape(template, version);
      });
      return { LaunchTemplateVersions: versions };
    },

    CreateLaunchTemplateVersion: (call: CallContext) => {
      const template = this.findTemplate(call, call.input);
      // "If you have the required permissions, the error response is DryRunOperation. Otherwise,
      // it is UnauthorizedOperation" (EC2 API reference, DryRun; HTTP 412): IAM, tag conditions
      // included, was checked before the model; the template must exist; nothing is created.
      if (call.input.DryRun === true)
        throw awsError(
          "DryRunOperation",
          "Request would have succeeded, but DryRun flag is set.",
          412,
        );
      const token = call.input.ClientToken
        ? `${call.accountId}|${call.region}|${String(call.input.ClientToken)}`
        : undefined;
      const fingerprint = JSON.stringify([
        template.id,
        call.input.SourceVersion,
        call.input.LaunchTemplateData,
      ]);
      const previous = token ? this.#tokens.get(token) : undefined;
      if (previous) {
        if (previous.fingerprint !== fingerprint)
          throw awsError(
            "IdempotentParameterMismatch",
            "Client token already used with different parameters",
          );
        const version = template.versions.find(
          (candidate) => candidate.versionNumber === previous.versionNumber,
        );
        return { LaunchTemplateVersion: this.#versionShape(template, version as TemplateVersion) };
      }
      const source = call.input.SourceVersion
        ? this.resolveVersion(template, String(call.input.SourceVersion))
        : undefined;
      if (call.input.SourceVersion && !source)
        throw awsError(
          "InvalidLaunchTemplateId.VersionNotFound",
          `Could not find launch template version ${String(call.input.SourceVersion)}`,
        );
      const version: TemplateVersion = {
        versionNumber: template.versions.length + 1,
        data: { ...source?.data, ...(call.input.LaunchTemplateData as Record<string, unknown>) },
        ...(call.input.VersionDescription
          ? { description: String(call.input.VersionDescription) }
          : {}),
      };
      template.versions.push(version);
      if (token)
        this.#tokens.set(token, {
          templateId: template.id,
          versionNumber: version.versionNumber,
          fingerprint,
        });
      return { LaunchTemplateVersion: this.#versionShape(template, version) };
    },

    ModifyLaunchTemplate: (call: CallContext) => {
      const template = this.findTemplate(call, call.input);
      const version = Number(call.input.DefaultVersion);
      if (!template.versions.some((candidate) => candidate.versionNumber === version)) {
        throw awsError(
          "InvalidLaunchTemplateId.VersionNotFound",
          `Could not find launch template version ${version}`,
        );
      }
      template.defaultVersion = version;
      return {
        LaunchTemplate: {
          LaunchTemplateId: template.id,
          LaunchTemplateName: template.name,
          DefaultVersionNumber: version,
          LatestVersionNumber: template.versions.length,
        },
      };
    },
  };
}
