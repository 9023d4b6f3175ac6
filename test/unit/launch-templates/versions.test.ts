import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import {
  CreateLaunchTemplateVersionCommand,
  DescribeLaunchTemplateVersionsCommand,
  EC2Client,
  ModifyLaunchTemplateCommand,
} from "@aws-sdk/client-ec2";
import { mockClient } from "aws-sdk-client-mock";
import {
  createVersionWithAmi,
  launchTemplateClientToken,
  ownVersionDescription,
  resolveTemplateVersion,
  setDefaultVersion,
  sourceOfOwnVersion,
} from "../../../lib/launch-templates/versions.ts";

const ec2 = mockClient(EC2Client);
const source = {
  launchTemplateId: "lt-web",
  launchTemplateName: "web",
  versionNumber: 7,
  imageId: "ami-old",
};

describe("launch template versions", () => {
  beforeEach(() => ec2.reset());

  it("resolves $Latest to an explicit version and its AMI", async () => {
    ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
      LaunchTemplateVersions: [
        {
          LaunchTemplateId: "lt-web",
          LaunchTemplateName: "web",
          VersionNumber: 7,
          LaunchTemplateData: { ImageId: "ami-old" },
        },
      ],
    });

    const resolved = await resolveTemplateVersion(new EC2Client({}), {
      launchTemplateId: "lt-web",
      version: "$Latest",
    });

    assert.deepEqual(resolved, source);
    assert.deepEqual(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand)[0]?.args[0].input, {
      LaunchTemplateId: "lt-web",
      Versions: ["$Latest"],
    });
  });

  it("creates a version from the group's version, changing only the AMI, with a deterministic token", async () => {
    ec2
      .on(CreateLaunchTemplateVersionCommand)
      .resolves({ LaunchTemplateVersion: { VersionNumber: 8 } });

    const created = await createVersionWithAmi(new EC2Client({}), source, {
      amiId: "ami-new",
      rolloutId: "r1",
    });

    assert.deepEqual(created, {
      launchTemplateId: "lt-web",
      sourceVersion: 7,
      versionNumber: 8,
      created: true,
    });
    const input = ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0]?.args[0].input;
    assert.equal(input?.SourceVersion, "7");
    assert.deepEqual(input?.LaunchTemplateData, { ImageId: "ami-new" });
    assert.equal(
      input?.ClientToken,
      launchTemplateClientToken({
        rolloutId: "r1",
        launchTemplateId: "lt-web",
        sourceVersion: 7,
        amiId: "ami-new",
      }),
    );
    assert.ok((input?.ClientToken?.length ?? 0) <= 128);
    assert.equal(ec2.commandCalls(ModifyLaunchTemplateCommand).length, 0);
  });

  it("never moves the default version while creating one (only after the refresh succeeded)", async () => {
    ec2
      .on(CreateLaunchTemplateVersionCommand)
      .resolves({ LaunchTemplateVersion: { VersionNumber: 8 } });

    await createVersionWithAmi(new EC2Client({}), source, { amiId: "ami-new", rolloutId: "r1" });

    assert.equal(ec2.commandCalls(ModifyLaunchTemplateCommand).length, 0);
  });

  it("sets a default version without a fixed token (a repeated token would skip a real change)", async () => {
    ec2.on(ModifyLaunchTemplateCommand).resolves({});

    await setDefaultVersion(new EC2Client({}), "lt-web", 8);

    const input = ec2.commandCalls(ModifyLaunchTemplateCommand)[0]?.args[0].input;
    assert.equal(input?.DefaultVersion, "8");
    assert.equal(input?.LaunchTemplateId, "lt-web");
    assert.equal(input?.ClientToken, undefined);
  });

  it("recognises its own version for the same AMI and rollout, and the version it came from", () => {
    const description = ownVersionDescription({
      amiId: "ami-new",
      rolloutId: "r1",
      sourceVersion: 7,
    });

    assert.equal(
      sourceOfOwnVersion(
        { description, imageId: "ami-new" },
        { amiId: "ami-new", rolloutId: "r1" },
      ),
      7,
    );
    assert.equal(
      sourceOfOwnVersion(
        { description, imageId: "ami-new" },
        { amiId: "ami-new", rolloutId: "r2" },
      ),
      undefined,
    );
    assert.equal(
      sourceOfOwnVersion(
        { description: "made by hand", imageId: "ami-new" },
        { amiId: "ami-new", rolloutId: "r1" },
      ),
      undefined,
    );
  });

  it("creates nothing when the version already launches this AMI", async () => {
    const result = await createVersionWithAmi(new EC2Client({}), source, {
      amiId: "ami-old",
      rolloutId: "r1",
    });

    assert.equal(result.created, false);
    assert.equal(result.versionNumber, 7);
    assert.equal(ec2.calls().length, 0);
  });

  it("fails on a version EC2 accepted with errors, instead of launching into them", async () => {
    ec2.on(CreateLaunchTemplateVersionCommand).resolves({
      LaunchTemplateVersion: { VersionNumber: 8 },
      Warning: { Errors: [{ Code: "InvalidAMIID.Malformed", Message: "bad ami" }] },
    });
    await assert.rejects(
      createVersionWithAmi(new EC2Client({}), source, {
        amiId: "ami-new",
        rolloutId: "r1",
      }),
      /InvalidAMIID\.Malformed: bad ami/,
    );
  });
});
