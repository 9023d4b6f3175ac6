import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_AMIS, MAX_DISTRIBUTIONS } from "../../../lib/events/image-state.ts";
import type { ImageFromGetImage } from "../../../lib/image-builder/get-image.ts";
import { TAG } from "../../../lib/pipelines/names.ts";
import { lineageLines, lineageOf } from "../../../lib/rollout/lineage.ts";
import { renderRollout } from "../../../lib/rollout/status.ts";

const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.0.1/1";
const RECIPE = "arn:aws:imagebuilder:eu-west-1:999999999999:image-recipe/base-al2023/1.0.1";
const COMMIT = "3f2a9c1d0e4b5a6978812345678901234567890a";

const image = (fields: Partial<ImageFromGetImage> = {}): ImageFromGetImage => ({
  source: "sns",
  imageArn: IMAGE,
  status: "AVAILABLE",
  notifiedStatus: "AVAILABLE",
  amis: [
    { region: "eu-west-3", image: "ami-0ccc", accountId: "222222222222" },
    { region: "eu-west-1", image: "ami-0aaa", accountId: "111111111111" },
    { region: "eu-west-1", image: "ami-0bbb", accountId: "222222222222" },
    { region: "eu-west-1", image: "ami-0ddd", accountId: "999999999999" },
  ],
  tags: {
    [TAG.commit]: COMMIT,
    [TAG.ref]: "refs/heads/main",
    [TAG.repository]: "https://github.com/acme/images",
    [TAG.inputHash]: "9f86d081884c7d659a2feaa0c55ad015",
    team: "platform",
  },
  recipe: { arn: RECIPE, name: "base-al2023", version: "1.0.1", tags: { [TAG.commit]: "0ld" } },
  ...fields,
});

describe("a rollout's lineage", () => {
  it("names the commit the build was started for, the recipe version and the AMIs per region", () => {
    assert.deepEqual(lineageOf(image()), {
      commit: COMMIT,
      commitFrom: "image",
      ref: "refs/heads/main",
      repository: "https://github.com/acme/images",
      inputHash: "9f86d081884c7d659a2feaa0c55ad015",
      recipe: { arn: RECIPE, name: "base-al2023", version: "1.0.1" },
      amis: {
        total: 4,
        regions: [
          { region: "eu-west-1", count: 3, sample: ["ami-0aaa", "ami-0bbb"] },
          { region: "eu-west-3", count: 1, sample: ["ami-0ccc"] },
        ],
      },
    });
  });

  it("falls back to the commit of the recipe's definitions for a build no commit started", () => {
    const lineage = lineageOf(image({ tags: {} }));
    assert.equal(lineage.commit, "0ld");
    assert.equal(lineage.commitFrom, "recipe");
    assert.match(
      lineageLines(lineage, "base-al2023/1.0.1/1")[0] ?? "",
      /commit 0ld \(of the definitions/,
    );
  });

  it("stays small for the largest fleet a distribution configuration can reach", () => {
    const amis = Array.from({ length: MAX_AMIS }, (_, index) => ({
      region: `region-${index % MAX_DISTRIBUTIONS}`,
      image: `ami-${index.toString(16).padStart(17, "0")}`,
      accountId: String(100_000_000_000 + index),
    }));
    const lineage = lineageOf(image({ amis }));
    assert.equal(lineage.amis.total, MAX_AMIS);
    assert.equal(lineage.amis.regions.length, MAX_DISTRIBUTIONS);
    assert.ok(lineage.amis.regions.every((region) => region.sample.length === 2));
    assert.ok(JSON.stringify(lineage).length < 8_000, `${JSON.stringify(lineage).length} bytes`);
    assert.match(lineageLines(lineage, "x")[1] ?? "", /98,368 AMI\(s\): region-0 1,537 \(ami-/);
  });

  it("reads commit → recipe version → image → AMIs per region → template versions → groups in status", () => {
    const text = renderRollout({
      record: {
        rolloutId: IMAGE,
        name: "base-al2023/1.0.1/1",
        status: "in-progress",
        approvals: {},
        pipeline: "base-al2023",
        imageArn: IMAGE,
        createdAt: "2026-11-23T02:45:00.000Z",
        dispatchedWave: 0,
        waveCount: 1,
        targetsWithoutAmi: [],
        amisWithoutTarget: [],
        lineage: lineageOf(image()),
      },
      targets: [],
      groups: [],
    });
    const lines = text.split("\n");
    const at = lines.findIndex((line) => line.startsWith("  lineage: "));
    assert.deepEqual(lines.slice(at, at + 3), [
      "  lineage: commit 3f2a9c1d0e4b (refs/heads/main, https://github.com/acme/images) → recipe base-al2023 1.0.1 → image base-al2023/1.0.1/1",
      "           → 4 AMI(s): eu-west-1 3 (ami-0aaa, ami-0bbb, 1 more) · eu-west-3 1 (ami-0ccc) → template versions → groups (below)",
      // ...right above the table of template versions and groups.
      lines.find((line) => line.startsWith("  wave  account")),
    ]);
  });
});
