import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../../lib/config/load.ts";
import { parseImageStateEvent } from "../../../lib/events/image-state.ts";
import { planRollout, rolloutNameOf } from "../../../lib/rollout/plan.ts";
import { loadEvent, repoPath } from "../../helpers/fixtures.ts";

const config = loadConfig(repoPath("config/orchestrator.yml"));
const [available] = parseImageStateEvent(loadEvent("imagebuilder-sns-available"));
const image = { ...(available as NonNullable<typeof available>), amis: available?.amis ?? [] };
const pipeline = config.pipelines[0] as NonNullable<(typeof config.pipelines)[0]>;

describe("planRollout", () => {
  it("maps each distributed AMI to its wave, account and region", () => {
    const plan = planRollout(config, pipeline, image);

    assert.equal(
      plan.rolloutId,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.4.0/7",
    );
    assert.equal(plan.name, "base-al2023/1.4.0/7");
    assert.deepEqual(
      plan.targets.map((target) => [target.wave, target.account, target.region, target.amiId]),
      [
        ["dev", "dev", "eu-west-1", "ami-0a1b2c3d4e5f60002"],
        ["prod", "prod", "eu-west-1", "ami-0a1b2c3d4e5f60003"],
        ["prod", "prod", "eu-west-3", "ami-0a1b2c3d4e5f60004"],
      ],
    );
    assert.deepEqual(plan.targetsWithoutAmi, []);
    assert.deepEqual(plan.amisWithoutTarget, [], "the build account's own AMI is not a mismatch");
  });

  it("reports a configured target that received no AMI, and an AMI no wave uses", () => {
    const amis = image.amis
      .filter((ami) => ami.region !== "eu-west-3")
      .concat({ region: "us-east-1", image: "ami-0ffffffffffffffff", accountId: "333333333333" });

    const plan = planRollout(config, pipeline, { ...image, amis });

    assert.deepEqual(plan.targetsWithoutAmi, [
      {
        wave: "prod",
        waveIndex: 1,
        account: "prod",
        accountId: "222222222222",
        region: "eu-west-3",
      },
    ]);
    assert.deepEqual(
      plan.amisWithoutTarget.map((ami) => `${ami.accountId}/${ami.region}`),
      ["333333333333/us-east-1"],
    );
    assert.equal(plan.targets.length, 2);
  });

  it("honours a wave's own region list", () => {
    const web = config.pipelines[1] as NonNullable<(typeof config.pipelines)[1]>;
    const plan = planRollout(config, web, image);
    assert.deepEqual(
      plan.targets.map((target) => `${target.wave}:${target.account}/${target.region}`),
      ["canary:prod/eu-west-3", "rest:dev/eu-west-1", "rest:prod/eu-west-1"],
    );
  });

  it("derives the rollout's readable name from the image build version", () => {
    assert.equal(
      rolloutNameOf("arn:aws:imagebuilder:eu-west-1:999999999999:image/web/2.0.3/12"),
      "web/2.0.3/12",
    );
  });

  it("keys two pipelines' rollouts apart when their recipes share a name", () => {
    const elsewhere = "arn:aws:imagebuilder:eu-west-3:888888888888:image/base-al2023/1.4.0/7";
    const plan = planRollout(config, pipeline, { ...image, imageArn: elsewhere });
    assert.notEqual(plan.rolloutId, planRollout(config, pipeline, image).rolloutId);
    assert.equal(plan.name, "base-al2023/1.4.0/7");
  });
});

describe("planRollout, AMIs shared by launch permission", () => {
  const [sharedChange] = parseImageStateEvent(loadEvent("imagebuilder-sns-available-shared"));
  const shared = {
    ...(sharedChange as NonNullable<typeof sharedChange>),
    amis: sharedChange?.amis ?? [],
  };
  const rows = (plan: ReturnType<typeof planRollout>) =>
    plan.targets.map((target) => [
      target.account,
      target.region,
      target.amiId,
      target.sharedFrom ?? "copy",
    ]);

  it("gives every account the build account's AMI of its region (userIds, then an OU)", () => {
    const plan = planRollout(config, pipeline, shared);

    assert.deepEqual(rows(plan), [
      ["dev", "eu-west-1", "ami-0b1c2d3e4f5a60011", "999999999999"],
      ["prod", "eu-west-1", "ami-0b1c2d3e4f5a60011", "999999999999"],
      // Shared with an OU: configured accounts are assumed to be in it.
      ["prod", "eu-west-3", "ami-0b1c2d3e4f5a60012", "999999999999"],
    ]);
    assert.deepEqual(plan.targetsWithoutAmi, []);
    assert.deepEqual(plan.amisWithoutTarget, []);
  });

  it("uses a copy where there is one and the shared AMI elsewhere (a mixed distribution)", () => {
    const copy = { region: "eu-west-1", image: "ami-0c0c0c0c0c0c0c0c0", accountId: "222222222222" };
    const distributions = (shared.distributions ?? []).map((distribution) =>
      distribution.region === "eu-west-1"
        ? {
            ...distribution,
            targetAccountIds: ["222222222222"],
            launchPermission: { ...distribution.launchPermission, userIds: ["111111111111"] },
          }
        : distribution,
    );

    const plan = planRollout(config, pipeline, {
      ...shared,
      amis: [...shared.amis, copy],
      distributions,
    });

    assert.deepEqual(rows(plan), [
      ["dev", "eu-west-1", "ami-0b1c2d3e4f5a60011", "999999999999"],
      ["prod", "eu-west-1", "ami-0c0c0c0c0c0c0c0c0", "copy"],
      ["prod", "eu-west-3", "ami-0b1c2d3e4f5a60012", "999999999999"],
    ]);
  });

  it("leaves an account the launch permission does not name without an AMI", () => {
    const distributions = (shared.distributions ?? []).map((distribution) => ({
      ...distribution,
      launchPermission: {
        ...distribution.launchPermission,
        userIds: ["111111111111"],
        organizationalUnitArns: [],
      },
    }));

    const plan = planRollout(config, pipeline, { ...shared, distributions });

    assert.deepEqual(rows(plan), [["dev", "eu-west-1", "ami-0b1c2d3e4f5a60011", "999999999999"]]);
    assert.deepEqual(
      plan.targetsWithoutAmi.map((target) => `${target.account}/${target.region}`),
      ["prod/eu-west-1", "prod/eu-west-3"],
    );
  });
});
