import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { replacementProperties } from "../../../lib/pipelines/replacement.ts";
import { synthesize } from "../../../lib/pipelines/synth.ts";
import {
  COMPONENT,
  configWith,
  goldenRepo,
  load,
  managedPipeline,
  pipelineYml,
} from "./repo-fixture.ts";

type Resource = {
  Type: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties: Record<string, unknown>;
};

const synth = (
  t: TestContext,
  files: Record<string, string> = {},
  config = configWith(managedPipeline()),
  commitOf?: (paths: readonly string[]) => string | undefined,
) => {
  const loaded = load(goldenRepo(t, files), config, commitOf);
  return synthesize(loaded.pipelines, "test");
};

const resources = (result: ReturnType<typeof synthesize>) =>
  result.template.Resources as Record<string, Resource>;

const component = (result: ReturnType<typeof synthesize>) => {
  const found = resources(result).GoldenComponentHarden;
  assert.ok(found, "the component resource");
  return found.Properties;
};

describe("synth", () => {
  it("makes one stack per stage with each pipeline's five kinds of resource, and never an Image", (t) => {
    const result = synth(t);
    assert.equal(result.stackName, "ami-orchestrator-test-images");
    assert.deepEqual(
      Object.entries(resources(result)).map(([id, resource]) => [id, resource.Type]),
      [
        ["GoldenComponentHarden", "AWS::ImageBuilder::Component"],
        ["GoldenRecipe", "AWS::ImageBuilder::ImageRecipe"],
        ["GoldenInfrastructure", "AWS::ImageBuilder::InfrastructureConfiguration"],
        ["GoldenDistribution", "AWS::ImageBuilder::DistributionConfiguration"],
        ["GoldenPipeline", "AWS::ImageBuilder::ImagePipeline"],
      ],
    );
    assert.ok(!JSON.stringify(result.template).includes('AWS::ImageBuilder::Image"'));
  });

  it("retains replaced and deleted components and recipes, for rollback", (t) => {
    const all = resources(synth(t));
    for (const id of ["GoldenComponentHarden", "GoldenRecipe"]) {
      assert.equal(all[id]?.DeletionPolicy, "Retain", id);
      assert.equal(all[id]?.UpdateReplacePolicy, "Retain", id);
    }
  });

  it("gives the pipeline no schedule: the orchestrator and CI start builds", (t) => {
    const pipeline = resources(synth(t)).GoldenPipeline?.Properties ?? {};
    assert.equal(pipeline.Schedule, undefined);
    assert.deepEqual(pipeline.ImageRecipeArn, { "Fn::GetAtt": ["GoldenRecipe", "Arn"] });
  });

  it("wires the config's notification topic into the infrastructure configuration", (t) => {
    const infrastructure = resources(synth(t)).GoldenInfrastructure?.Properties ?? {};
    assert.equal(
      infrastructure.SnsTopicArn,
      "arn:aws:sns:eu-west-1:999999999999:imagebuilder-notifications",
    );
  });

  it("changes the document whenever any replacement-forcing input changes", (t) => {
    // Image Builder refuses a new component whose content equals an existing one: every input
    // CloudFormation replaces a component on must also change the Data it creates it with.
    const base = component(synth(t));
    const variants: Record<string, Record<string, string>> = {
      Name: { "config/orchestrator.yml": configWith(managedPipeline("golden2", "golden")) },
      Version: {
        "pipelines/golden/pipeline.yml": pipelineYml(
          "    - file: components/harden.yml\n      version: 1.0.1\n",
        ),
      },
      Description: {
        "pipelines/golden/components/harden.yml": COMPONENT.replace(
          "Hardens the image.",
          "Hardens the image well.",
        ),
      },
      Platform: {
        "pipelines/golden/pipeline.yml": pipelineYml().replace(
          "platform: Linux",
          "platform: macOS",
        ),
      },
      Data: { "pipelines/golden/components/harden.yml": `${COMPONENT}# more\n` },
    };
    // Derived from the others; KmsKeyId and SupportedOsVersions are never set.
    const derived = new Set(["ChangeDescription", "Uri", "KmsKeyId", "SupportedOsVersions"]);
    for (const property of replacementProperties("AWS::ImageBuilder::Component")) {
      if (derived.has(property)) continue;
      const files = variants[property];
      assert.ok(files, `no variant for the replacement-forcing property ${property}`);
      const { "config/orchestrator.yml": config, ...rest } = files;
      const result = synth(t, rest, config ?? configWith(managedPipeline()));
      const changed = (
        resources(result).GoldenComponentHarden ?? resources(result).Golden2ComponentHarden
      )?.Properties;
      assert.notEqual(changed?.Data, base.Data, property);
      assert.notEqual(changed?.ChangeDescription, base.ChangeDescription, property);
    }
  });

  it("keeps logical ids when a component's content and version change", (t) => {
    const before = Object.keys(resources(synth(t)));
    const after = Object.keys(
      resources(
        synth(t, {
          "pipelines/golden/components/harden.yml": `${COMPONENT}# changed\n`,
          "pipelines/golden/pipeline.yml": pipelineYml(
            "    - file: components/harden.yml\n      version: 2.0.0\n",
          ),
        }),
      ),
    );
    assert.deepEqual(after, before);
  });

  it("writes the same template for the same inputs", (t) => {
    assert.equal(JSON.stringify(synth(t).template), JSON.stringify(synth(t).template));
  });

  it("records the commit that last changed a component in its change description and tags", (t) => {
    const commits: Record<string, string> = {
      "pipelines/golden/components/harden.yml": "a".repeat(40),
      "pipelines/golden": "b".repeat(40),
    };
    const result = synth(t, {}, undefined, (paths) => commits[paths[0] ?? ""]);
    const properties = component(result);
    assert.match(
      String(properties.ChangeDescription),
      /^input sha256:[0-9a-f]{16}, commit aaaaaaaaaaaa$/,
    );
    assert.equal(
      (properties.Tags as Record<string, string>)["ami-orchestrator:commit"],
      "a".repeat(40),
    );
    const recipeTags = resources(result).GoldenRecipe?.Properties.Tags as Record<string, string>;
    assert.equal(recipeTags["ami-orchestrator:commit"], "b".repeat(40));
  });

  it("changes the pipeline's input hash with a component, not with the build instance", (t) => {
    const base = synth(t).pipelines[0]?.inputHash;
    const component = synth(t, {
      "pipelines/golden/components/harden.yml": `${COMPONENT}# changed\n`,
    }).pipelines[0]?.inputHash;
    const instance = synth(t, {
      "pipelines/golden/pipeline.yml": pipelineYml().replace("t3.medium", "m7i.large"),
    }).pipelines[0]?.inputHash;
    assert.notEqual(component, base);
    assert.equal(instance, base);
    const pipelineTags = resources(synth(t)).GoldenPipeline?.Properties.Tags as Record<
      string,
      string
    >;
    assert.equal(pipelineTags["ami-orchestrator:input-hash"], base);
  });

  it("copies to target accounts, or shares with them, per region; never to the build account", (t) => {
    const withBuildAccount = configWith(
      managedPipeline().replace(
        "        - { name: prod, accounts: [prod] }",
        "        - { name: prod, accounts: [prod, build] }",
      ),
    ).replace(
      "accounts:\n",
      'accounts:\n  build: { id: "999999999999", externalId: ext-build-01, regions: [eu-west-1] }\n',
    );
    const distributions = (mode: string) =>
      resources(
        synth(
          t,
          {
            "pipelines/golden/pipeline.yml": pipelineYml(
              undefined,
              `distribution: { mode: ${mode} }\n`,
            ),
          },
          withBuildAccount,
        ),
      ).GoldenDistribution?.Properties.Distributions as Array<{
        Region: string;
        AmiDistributionConfiguration: Record<string, unknown>;
      }>;
    assert.deepEqual(
      distributions("copy").map((d) => [d.Region, d.AmiDistributionConfiguration.TargetAccountIds]),
      [
        ["eu-west-1", ["111111111111", "222222222222"]],
        ["eu-west-3", ["222222222222"]],
      ],
    );
    assert.deepEqual(
      distributions("share").map((d) => [
        d.Region,
        d.AmiDistributionConfiguration.LaunchPermissionConfiguration,
        d.AmiDistributionConfiguration.TargetAccountIds,
      ]),
      [
        ["eu-west-1", { UserIds: ["111111111111", "222222222222"] }, undefined],
        ["eu-west-3", { UserIds: ["222222222222"] }, undefined],
      ],
    );
  });

  it("puts documents in the bucket under their content hash when a componentBucket is set", (t) => {
    const result = synth(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        undefined,
        "componentBucket: { name: my-components, prefix: images/ }\n",
      ),
    });
    const properties = component(result);
    assert.equal(properties.Data, undefined);
    const [asset] = result.assets;
    assert.ok(asset);
    const hash = createHash("sha256").update(asset.body).digest("hex");
    assert.equal(asset.key, `images/${hash}.yml`);
    assert.equal(properties.Uri, `s3://my-components/images/${hash}.yml`);
    assert.match(asset.body, /^# ami-orchestrator input sha256:[0-9a-f]{64}\nname: harden\n/);
  });

  it("references existing components by ARN, with their parameters as lists", (t) => {
    const result = synth(t, {
      "pipelines/golden/pipeline.yml": pipelineYml(
        [
          "    - arn: arn:aws:imagebuilder:eu-west-1:aws:component/update-linux/x.x.x",
          "      parameters: { Exclude: kernel, Include: [a, b] }",
          "    - file: components/harden.yml",
          "      version: 1.0.0",
          "",
        ].join("\n"),
      ),
    });
    assert.deepEqual(resources(result).GoldenRecipe?.Properties.Components, [
      {
        ComponentArn: "arn:aws:imagebuilder:eu-west-1:aws:component/update-linux/x.x.x",
        Parameters: [
          { Name: "Exclude", Value: ["kernel"] },
          { Name: "Include", Value: ["a", "b"] },
        ],
      },
      { ComponentArn: { "Fn::GetAtt": ["GoldenComponentHarden", "Arn"] } },
    ]);
  });
});
