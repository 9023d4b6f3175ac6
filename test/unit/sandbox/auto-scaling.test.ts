import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallContext } from "../../../sandbox/model/faults.ts";
import { SandboxWorld } from "../../../sandbox/model/world.ts";

const ACCOUNT = "111111111111";
const REGION = "eu-west-1";
const SLR = `arn:aws:iam::${ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;

/** A world with one group on `version` of a template whose version 1 launches `imageId`. */
const worldWithGroup = (version: string, imageId: string) => {
  const world = new SandboxWorld({
    start: "2026-11-23T10:00:00Z",
    orchestratorAccountId: ACCOUNT,
    orchestratorRegion: REGION,
  });
  const template = world.ec2.addLaunchTemplate({
    accountId: ACCOUNT,
    region: REGION,
    name: "web",
    imageId,
  });
  world.autoScaling.addGroup({
    name: "web",
    accountId: ACCOUNT,
    region: REGION,
    tags: {},
    serviceLinkedRoleArn: SLR,
    desiredCapacity: 2,
    launchTemplate: { LaunchTemplateId: template.id, Version: version },
  });
  const start = () =>
    world.call({
      service: "autoscaling",
      operation: "StartInstanceRefresh",
      accountId: ACCOUNT,
      region: REGION,
      input: {
        AutoScalingGroupName: "web",
        DesiredConfiguration: { LaunchTemplate: { LaunchTemplateId: template.id, Version: "1" } },
        Preferences: { AutoRollback: true },
      } as CallContext["input"],
    });
  return { world, start };
};

describe("the sandbox's instance refresh refuses auto-rollback where AWS does", () => {
  it("while the group itself uses $Latest or $Default, whatever the desired version", async () => {
    for (const version of ["$Latest", "$Default"]) {
      const { start } = worldWithGroup(version, "ami-0123456789abcdef0");
      await assert.rejects(start(), (error: Error) => {
        assert.equal(error.name, "ValidationError");
        assert.match(error.message, new RegExp(`\\${version}`));
        return true;
      });
    }
  });

  it("when the group's template takes its AMI from an SSM parameter", async () => {
    const { start } = worldWithGroup("1", "resolve:ssm:/golden/al2023");
    await assert.rejects(start(), /Systems Manager parameter/);
  });

  it("accepts it for a group pinned to a numbered version", async () => {
    const { start } = worldWithGroup("1", "ami-0123456789abcdef0");
    const started = (await start()) as { InstanceRefreshId?: string };
    assert.ok(started.InstanceRefreshId);
  });
});
