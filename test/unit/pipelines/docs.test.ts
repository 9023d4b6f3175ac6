import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { type Plan, type ResourcePlan, renderPlan } from "../../../lib/pipelines/plan.ts";
import {
  type ImageResourceType,
  RESOURCE_TYPES,
  replacementProperties,
} from "../../../lib/pipelines/replacement.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const doc = readFileSync(repoPath("docs/pipelines.md"), "utf8");

const between = (start: string, end: string): string => {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end, from);
  assert.ok(from >= 0 && to > from, `docs/pipelines.md has ${start} … ${end}`);
  return doc.slice(from + start.length, to).trim();
};

const unchanged = (logicalId: string): ResourcePlan => ({
  logicalId,
  outcome: "unchanged",
  properties: [],
  replacedBy: [],
});

describe("docs/pipelines.md", () => {
  it("shows plan output as renderPlan prints it", () => {
    const plan: Plan = {
      stackName: "ami-orchestrator-prod-images",
      changeSetName: "ami-orchestrator-5d41402abc4b2a76",
      changeSetType: "UPDATE",
      noChanges: false,
      pipelines: [
        {
          name: "base-al2023",
          arn: "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023",
          components: [
            {
              logicalId: "BaseAl2023ComponentHardenSsh",
              name: "base-al2023-harden-ssh",
              outcome: "replaced",
              versioning: "new build",
              properties: ["ChangeDescription", "Data"],
              replacedBy: ["ChangeDescription", "Data"],
            },
            {
              ...unchanged("BaseAl2023ComponentBaselinePackages"),
              name: "base-al2023-baseline-packages",
            },
          ],
          recipe: {
            logicalId: "BaseAl2023Recipe",
            outcome: "replaced",
            properties: ["Components"],
            replacedBy: ["Components"],
          },
          infrastructure: unchanged("BaseAl2023Infrastructure"),
          distribution: unchanged("BaseAl2023Distribution"),
          pipeline: {
            logicalId: "BaseAl2023Pipeline",
            outcome: "updated in place",
            properties: ["ImageRecipeArn"],
            replacedBy: [],
          },
          build: {
            start: true,
            reason:
              "inputs changed since arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.0.4/1 (input 9f86d081884c7d65 → 3e0dc7a73d835825)",
          },
        },
      ],
      others: [],
    };
    const sample = between("<!-- sample: plan -->", "<!-- /sample -->").replace(
      /^```\n|\n```$/g,
      "",
    );
    assert.equal(sample, renderPlan(plan).join("\n"));
  });

  it("lists the replacement rules of replacement-rules.json", () => {
    const table = between("<!-- replacement rules -->", "<!-- /replacement rules -->");
    const rows = table.split("\n").slice(2);
    assert.deepEqual(
      rows,
      RESOURCE_TYPES.map(
        (type: ImageResourceType) => `| ${type} | ${replacementProperties(type).join(", ")} |`,
      ),
    );
  });
});
