import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { InstanceRefresh } from "@aws-sdk/client-auto-scaling";
import { launchPathsOf, refreshAt } from "../../../lib/launch-failures/launch-paths.ts";

describe("what a group could have launched", () => {
  it("a mixed instances policy: the main template, then each override with its own AMI or template; overrides with neither share the main one", () => {
    const paths = launchPathsOf({
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateName: "web" },
          Overrides: [
            { InstanceType: "m7i.large" },
            { InstanceType: "m7g.large", ImageId: "ami-0arm" },
            {
              InstanceRequirements: { VCpuCount: { Min: 2 }, MemoryMiB: { Min: 4096 } },
              LaunchTemplateSpecification: { LaunchTemplateId: "lt-gpu", Version: "3" },
            },
          ],
        },
      },
    });
    assert.deepEqual(paths, [
      { via: "main template", template: { launchTemplateName: "web", version: "$Default" } },
      { via: "override for m7g.large", imageId: "ami-0arm" },
      {
        via: "override for its instance requirements",
        template: { launchTemplateId: "lt-gpu", version: "3" },
      },
    ]);
  });

  it("a configuration with a top-level launch template launches only that template (it replaces a policy)", () => {
    const paths = launchPathsOf({
      LaunchTemplate: { LaunchTemplateId: "lt-web", Version: "8" },
      MixedInstancesPolicy: {
        LaunchTemplate: { Overrides: [{ InstanceType: "m7g.large", ImageId: "ami-0arm" }] },
      },
    });
    assert.deepEqual(paths, [
      { via: "launch template", template: { launchTemplateId: "lt-web", version: "8" } },
    ]);
  });

  it("the refresh running at the launch: the event's time is whole seconds, so a refresh started within that second counts; one ended before it does not", () => {
    const launchedAt = Date.parse("2026-12-21T09:14:02Z");
    const refresh = (id: string, start: string, end?: string): InstanceRefresh => ({
      InstanceRefreshId: id,
      StartTime: new Date(start),
      ...(end ? { EndTime: new Date(end) } : {}),
    });
    assert.equal(
      refreshAt([refresh("within", "2026-12-21T09:14:02.400Z")], launchedAt)?.InstanceRefreshId,
      "within",
    );
    assert.equal(refreshAt([refresh("after", "2026-12-21T09:14:03Z")], launchedAt), undefined);
    assert.equal(
      refreshAt([refresh("ended", "2026-12-21T08:00:00Z", "2026-12-21T09:14:01.900Z")], launchedAt),
      undefined,
    );
  });
});
