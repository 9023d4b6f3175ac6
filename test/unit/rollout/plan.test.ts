import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../../lib/config/load.ts";
import { parseImageStateEvent } from "../../../lib/events/image-state.ts";
import { planRollout, rolloutIdOf } from "../../../lib/rollout/plan.ts";
import { loadEvent, repoPath } from "../../helpers/fixtures.ts";

const config = loadConfig(repoPath("config/orchestrator.yml"));
const [available] = parseImageStateEvent(loadEvent("imagebuilder-sns-available"));
const image = { ...(available as NonNullable<typeof available>), amis: available?.amis ?? [] };
const pipeline = config.pipelines[0] as NonNullable<(typeof config.pipelines)[0]>;

describe("planRollout", () => {
  it("maps each distributed AMI to its wave, account and region", () => {
    const plan = planRollout(config, pipeline, image);

    assert.equal(plan.rolloutId, "base-al2023/1.4.0/7");
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

  it("derives the rollout id from the image build version", () => {
    assert.equal(
      rolloutIdOf("arn:aws:imagebuilder:eu-west-1:999999999999:image/web/2.0.3/12"),
      "web/2.0.3/12",
    );
  });
});
