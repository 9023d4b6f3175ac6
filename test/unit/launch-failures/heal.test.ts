import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../../lib/config/load.ts";
import { healDecision, pipelineSelecting } from "../../../lib/launch-failures/heal.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const config = loadConfig(repoPath("config/orchestrator.yml"));
const PROD = "222222222222";

describe("which failed groups the orchestrator may heal", () => {
  it("a group a pipeline selects by name, in an account and region of its waves", () => {
    const group = { accountId: PROD, region: "eu-west-3", name: "web-api", tags: {} };
    assert.equal(pipelineSelecting(config, group)?.name, "web-ubuntu2404");
    assert.deepEqual(healDecision(config, group), { heal: true, pipeline: "web-ubuntu2404" });
  });

  it("a group a pipeline selects by tags", () => {
    const group = {
      accountId: PROD,
      region: "eu-west-3",
      name: "batch",
      tags: { "ami-orchestrator:pipeline": "base-al2023" },
    };
    assert.equal(pipelineSelecting(config, group)?.name, "base-al2023");
  });

  it("not a group outside the config, nor a selected name in a region the waves do not reach", () => {
    const other = { accountId: PROD, region: "eu-west-3", name: "team-b-app", tags: {} };
    const decision = healDecision(config, other);
    assert.equal(decision.heal, false);
    // web-ubuntu2404 reaches account dev only in eu-west-1.
    const elsewhere = { accountId: "111111111111", region: "eu-west-3", name: "web-api", tags: {} };
    assert.equal(pipelineSelecting(config, elsewhere), undefined);
  });

  it("healGrants defaults to true and can be turned off per pipeline", () => {
    assert.equal(config.pipelines[1]?.rollout?.healGrants, true);
    const off = structuredClone(config);
    const rollout = off.pipelines[1]?.rollout;
    assert.ok(rollout);
    (rollout as { healGrants: boolean }).healGrants = false;
    const decision = healDecision(off, {
      accountId: PROD,
      region: "eu-west-3",
      name: "web-api",
      tags: {},
    });
    assert.deepEqual(decision, {
      heal: false,
      reason: "pipeline web-ubuntu2404 sets rollout.healGrants: false",
    });
  });
});
