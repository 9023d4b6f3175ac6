import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../../lib/config/load.ts";
import { loadDefinitions } from "../../../lib/pipelines/definitions.ts";
import { repoPath } from "../../helpers/fixtures.ts";
import {
  COMPONENT,
  configWith,
  goldenRepo,
  lines,
  load,
  managedPipeline,
  pipelineYml,
} from "./repo-fixture.ts";

const componentList = (count: number): string =>
  Array.from(
    { length: count },
    (_, index) => `    - file: components/c${index}.yml\n      version: 1.0.${index}\n`,
  ).join("");

const componentFiles = (count: number): Record<string, string> =>
  Object.fromEntries(
    Array.from({ length: count }, (_, index) => [
      `pipelines/golden/components/c${index}.yml`,
      COMPONENT,
    ]),
  );

describe("pipeline definitions", () => {
  it("loads the repository's own definitions without a problem", () => {
    const configFile = repoPath("config/orchestrator.yml");
    const loaded = loadDefinitions({
      root: repoPath(""),
      config: loadConfig(configFile),
      configFile: "config/orchestrator.yml",
    });
    assert.deepEqual(lines(loaded), []);
    assert.deepEqual(
      loaded.pipelines.map((pipeline) => pipeline.config.name),
      ["base-al2023"],
    );
  });

  it("names each component after its pipeline and file, and derives targets from the waves", (t) => {
    const root = goldenRepo(t);
    const loaded = load(root, configWith(managedPipeline()));
    assert.deepEqual(lines(loaded), []);
    const [pipeline] = loaded.pipelines;
    assert.equal(pipeline?.components[0]?.kind, "local");
    assert.equal(
      pipeline?.components[0]?.kind === "local" && pipeline.components[0].name,
      "golden-harden",
    );
    assert.deepEqual(
      pipeline?.distributions.map((distribution) => [
        distribution.Region,
        (distribution.AmiDistributionConfiguration as { TargetAccountIds?: string[] })
          .TargetAccountIds,
      ]),
      [
        ["eu-west-1", ["111111111111", "222222222222"]],
        ["eu-west-3", ["222222222222"]],
      ],
    );
  });

  it("refuses a recipe of 21 components, at the 21st, naming the limit", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(componentList(21)),
      ...componentFiles(21),
    });
    assert.deepEqual(lines(load(root, configWith(managedPipeline()))), [
      "pipelines/golden/pipeline.yml:47:7: recipe.components[20]: 21 components: a recipe holds at most 20 (API model ImageRecipe.components); split the work into fewer components",
    ]);
  });

  it("takes 20 components", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(componentList(20)),
      ...componentFiles(20),
    });
    assert.deepEqual(lines(load(root, configWith(managedPipeline()))), []);
  });

  it("refuses an invalid component version at its line", (t) => {
    for (const [version, message] of [
      [
        "1.0",
        "recipe.components[0].version: 1 is not a version: write three numbers, e.g. 1.2.0 (YAML reads 1.0 as a number)",
      ],
      [
        "1.0.0-beta",
        'recipe.components[0].version: "1.0.0-beta" is not a component version: write <major>.<minor>.<patch>, e.g. 1.2.0 (Image Builder adds the build number)',
      ],
      [
        "1.0.x",
        'recipe.components[0].version: "1.0.x" is not a component version: write <major>.<minor>.<patch>, e.g. 1.2.0 (Image Builder adds the build number)',
      ],
    ] as const) {
      const root = goldenRepo(t, {
        "pipelines/golden/pipeline.yml": pipelineYml(
          `    - file: components/harden.yml\n      version: ${version}\n`,
        ),
      });
      assert.deepEqual(lines(load(root, configWith(managedPipeline()))), [
        `pipelines/golden/pipeline.yml:8:16: ${message}`,
      ]);
    }
  });

  it("refuses a recipe version with a number after an x, or one that cannot change", (t) => {
    for (const [version, message] of [
      ["1.x.0", /after an x every node must be x/],
      ["1.0.0", /names one version.*end it in x \(e\.g\. 1\.0\.x\)/],
      ["1.1073741824.x", /node 1073741824 of 1\.1073741824\.x is above 1073741823/],
    ] as const) {
      const root = goldenRepo(t, {
        "pipelines/golden/pipeline.yml": pipelineYml().replace(
          "version: 1.0.x",
          `version: ${version}`,
        ),
      });
      const [problem] = lines(load(root, configWith(managedPipeline())));
      assert.match(problem ?? "", /^pipelines\/golden\/pipeline\.yml:4:12: recipe\.version: /);
      assert.match(problem ?? "", message);
    }
  });

  it("refuses a folder under pipelines/ that the config does not name", (t) => {
    const root = goldenRepo(t, {
      "pipelines/orphan/pipeline.yml": pipelineYml(),
      "pipelines/orphan/components/harden.yml": COMPONENT,
    });
    assert.deepEqual(lines(load(root, configWith(managedPipeline()))), [
      "pipelines/orphan/pipeline.yml:1:1: no pipeline of config/orchestrator.yml names pipelines/orphan: add one with `definition: pipelines/orphan` (and its account and region), or delete the folder",
    ]);
  });

  it("points at the config line of a definition whose pipeline.yml is missing", (t) => {
    const root = goldenRepo(t);
    const config = configWith(managedPipeline() + managedPipeline("silver", "silver"));
    const [problem] = lines(load(root, config));
    assert.equal(
      problem,
      "config/orchestrator.yml:19:17: pipelines[1].definition: pipelines/silver/pipeline.yml does not exist: create it (docs/pipelines.md), or name the folder that holds it",
    );
  });

  it("refuses a document over the inline limit when no bucket is configured, and takes it with one", (t) => {
    const big = `${COMPONENT}# ${"x".repeat(16000)}\n`;
    const root = goldenRepo(t, { "pipelines/golden/components/harden.yml": big });
    const [problem, ...rest] = lines(load(root, configWith(managedPipeline())));
    assert.equal(rest.length, 0);
    assert.match(
      problem ?? "",
      /^pipelines\/golden\/components\/harden\.yml:1:1: the document is 16,\d{3} characters as created .* more than the 16,000 Image Builder takes inline .* set componentBucket in pipelines\/golden\/pipeline\.yml/,
    );
    const withBucket = goldenRepo(t, {
      "pipelines/golden/components/harden.yml": big,
      "pipelines/golden/pipeline.yml": pipelineYml(
        undefined,
        "componentBucket: { name: my-components }\n",
      ),
    });
    assert.deepEqual(lines(load(withBucket, configWith(managedPipeline()))), []);
  });

  it("counts the hash header against the limit: 16,000 characters as written is already too many", (t) => {
    const exactly = `${COMPONENT}#${"x".repeat(16000 - COMPONENT.length - 2)}\n`;
    assert.equal(exactly.length, 16000);
    const root = goldenRepo(t, { "pipelines/golden/components/harden.yml": exactly });
    assert.equal(lines(load(root, configWith(managedPipeline()))).length, 1);
  });

  it("runs the AWSTOE validator on each component, with the pipeline's platform", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/components/harden.yml": "name: harden\nphases: [\n",
    });
    const [problem] = lines(load(root, configWith(managedPipeline())));
    assert.match(problem ?? "", /^pipelines\/golden\/components\/harden\.yml:\d+:\d+: /);
  });

  it("refuses a component file that does not exist, and one listed twice", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        [
          "    - file: components/harden.yml",
          "      version: 1.0.0",
          "    - file: components/harden.yml",
          "      version: 1.1.0",
          "    - file: components/missing.yml",
          "      version: 1.0.0",
          "",
        ].join("\n"),
      ),
    });
    assert.deepEqual(lines(load(root, configWith(managedPipeline()))), [
      "pipelines/golden/pipeline.yml:9:13: recipe.components[1].file: components/harden.yml is already recipe.components[0]: list it once",
      "pipelines/golden/pipeline.yml:11:13: recipe.components[2].file: pipelines/golden/components/missing.yml does not exist: create it, or fix the path (relative to pipelines/golden)",
    ]);
  });

  it("refuses a recipe of test components only: it needs a build component", (t) => {
    const testOnly = COMPONENT.replace("  - name: build", "  - name: test");
    const root = goldenRepo(t, { "pipelines/golden/components/harden.yml": testOnly });
    assert.deepEqual(lines(load(root, configWith(managedPipeline()))), [
      "pipelines/golden/pipeline.yml:7:5: recipe.components: every component has only a test phase (a TEST component): a recipe needs at least one build component (API model ImageRecipe.components)",
    ]);
  });

  it("refuses an AWS-managed component of another platform", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        "    - arn: arn:aws:imagebuilder:eu-west-1:aws:component/update-windows/x.x.x\n",
      ),
    });
    assert.deepEqual(lines(load(root, configWith(managedPipeline()))), [
      "pipelines/golden/pipeline.yml:7:12: recipe.components[0].arn: update-windows is an AWS-managed component for windows, but this pipeline builds a Linux image",
    ]);
  });

  it("refuses a key of one region when the AMI goes to two", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        undefined,
        "distribution:\n  kmsKeyId: arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab\n",
      ),
    });
    const [problem] = lines(load(root, configWith(managedPipeline())));
    assert.match(
      problem ?? "",
      /^pipelines\/golden\/pipeline\.yml:13:3: distribution: .* is a key of eu-west-1 but the AMI is also distributed to eu-west-3/,
    );
  });

  it("reports schema problems at their line, with the path and the fix", (t) => {
    const root = goldenRepo(t, {
      "pipelines/golden/pipeline.yml": pipelineYml().replace("platform: Linux", "platform: linux"),
    });
    const [problem] = lines(load(root, configWith(managedPipeline())));
    assert.match(problem ?? "", /^pipelines\/golden\/pipeline\.yml:2:11: platform: /);
  });
});
