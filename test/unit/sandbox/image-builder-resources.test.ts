import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CallContext } from "../../../sandbox/model/faults.ts";
import { SandboxWorld } from "../../../sandbox/model/world.ts";

/**
 * Image Builder's resources as the API creates them: immutable versions, build numbers given by
 * Image Builder, recipe version wildcards (the Nov 2025 auto-versioning), client tokens, and a
 * pipeline created through the API building images like the pipelines the sandbox is given.
 */

const ACCOUNT = "111111111111";
const TARGET = "222222222222";
const REGION = "eu-west-1";
const BASE = `arn:aws:imagebuilder:${REGION}:${ACCOUNT}`;

const newWorld = () =>
  new SandboxWorld({
    start: "2026-03-02T10:00:00Z",
    orchestratorAccountId: ACCOUNT,
    orchestratorRegion: REGION,
  });

type Output = Record<string, unknown>;
const imageBuilder = (world: SandboxWorld, operation: string, input: object) =>
  world.call({
    service: "imagebuilder",
    operation,
    accountId: ACCOUNT,
    region: REGION,
    input: input as CallContext["input"],
  }) as Promise<Output>;

const refusedWith = (name: string, message?: RegExp) => (error: unknown) => {
  assert.equal((error as Error).name, name, (error as Error).message);
  if (message) assert.match((error as Error).message, message);
  return true;
};

const document = (command: string) => `name: hardening
schemaVersion: 1.0
phases:
  - name: build
    steps:
      - name: Harden
        action: ExecuteBash
        inputs:
          commands:
            - ${command}
`;

const createComponent = (world: SandboxWorld, data: string, extra: object = {}) =>
  imageBuilder(world, "CreateComponent", {
    name: "hardening",
    semanticVersion: "1.0.0",
    platform: "Linux",
    data,
    ...extra,
  });

const createRecipe = (world: SandboxWorld, version: string, components: string[]) =>
  imageBuilder(world, "CreateImageRecipe", {
    name: "web",
    semanticVersion: version,
    parentImage: `arn:aws:imagebuilder:${REGION}:aws:image/amazon-linux-2023-x86/x.x.x`,
    components: components.map((componentArn) => ({ componentArn })),
  });

describe("Image Builder components: immutable versions and build numbers", () => {
  it("numbers the builds of one name and version /1, /2 as the content changes (auto-versioning)", async () => {
    const world = newWorld();
    const first = await createComponent(world, document("echo one"));
    const second = await createComponent(world, document("echo two"));
    assert.equal(first.componentBuildVersionArn, `${BASE}:component/hardening/1.0.0/1`);
    assert.equal(second.componentBuildVersionArn, `${BASE}:component/hardening/1.0.0/2`);
    assert.deepEqual(second.latestVersionReferences, {
      latestVersionArn: `${BASE}:component/hardening/x.x.x`,
      latestMajorVersionArn: `${BASE}:component/hardening/1.x.x`,
      latestMinorVersionArn: `${BASE}:component/hardening/1.0.x`,
      latestPatchVersionArn: `${BASE}:component/hardening/1.0.0`,
    });
    // A version ARN names its latest build; each build keeps its own document.
    const latest = await imageBuilder(world, "GetComponent", {
      componentBuildVersionArn: `${BASE}:component/hardening/1.0.0`,
    });
    assert.equal((latest.component as Output).arn, second.componentBuildVersionArn);
    const one = await imageBuilder(world, "GetComponent", {
      componentBuildVersionArn: first.componentBuildVersionArn,
    });
    assert.equal((one.component as Output).data, document("echo one"));
    const builds = await imageBuilder(world, "ListComponentBuildVersions", {
      componentVersionArn: `${BASE}:component/hardening/1.0.0`,
    });
    assert.deepEqual(
      (builds.componentSummaryList as Output[]).map((summary) => summary.arn),
      [second.componentBuildVersionArn, first.componentBuildVersionArn],
    );
  });

  it("refuses a component whose content is identical to a build of the same version", async () => {
    const world = newWorld();
    await createComponent(world, document("echo one"), { description: "first" });
    await assert.rejects(
      // Only the description differs: the document is the same.
      createComponent(world, document("echo one"), { description: "second" }),
      refusedWith("ResourceAlreadyExistsException", /identical content/),
    );
    // Another version with the same document is another component version.
    const other = await createComponent(world, document("echo one"), { semanticVersion: "1.0.1" });
    assert.equal(other.componentBuildVersionArn, `${BASE}:component/hardening/1.0.1/1`);
  });

  it("takes no wildcard in a component version (API model VersionNumber) nor a node over 2^30-1", async () => {
    const world = newWorld();
    await assert.rejects(
      createComponent(world, document("echo"), { semanticVersion: "1.0.x" }),
      refusedWith("ValidationException", /semanticVersion/),
    );
    await assert.rejects(
      createComponent(world, document("echo"), { semanticVersion: "1.0.1073741824" }),
      refusedWith("InvalidVersionNumberException"),
    );
  });

  it("tells a TEST component from a BUILD one by its phases, as the CLI reference describes", async () => {
    const world = newWorld();
    const test = await createComponent(
      world,
      "name: t\nschemaVersion: 1.0\nphases:\n  - name: test\n    steps: []\n",
      { name: "smoke" },
    );
    const got = await imageBuilder(world, "GetComponent", {
      componentBuildVersionArn: test.componentBuildVersionArn,
    });
    assert.equal((got.component as Output).type, "TEST");
  });

  it("keeps a build a recipe names: ResourceDependencyException", async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"));
    await createRecipe(world, "1.0.0", [String(componentBuildVersionArn)]);
    await assert.rejects(
      imageBuilder(world, "DeleteComponent", { componentBuildVersionArn }),
      refusedWith("ResourceDependencyException"),
    );
  });
});

describe("Image Builder recipes: version wildcards and immutability", () => {
  it("resolves 1.0.x to the next patch of 1.0 each time, and refuses an existing explicit version", async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"));
    const component = String(componentBuildVersionArn);
    const first = await createRecipe(world, "1.0.x", [component]);
    const second = await createRecipe(world, "1.0.x", [component]);
    assert.equal(first.imageRecipeArn, `${BASE}:image-recipe/web/1.0.0`);
    assert.equal(second.imageRecipeArn, `${BASE}:image-recipe/web/1.0.1`);
    await assert.rejects(
      createRecipe(world, "1.0.1", [component]),
      refusedWith("ResourceAlreadyExistsException"),
    );
    // `x.x.x` names the latest version.
    const latest = await imageBuilder(world, "GetImageRecipe", {
      imageRecipeArn: `${BASE}:image-recipe/web/x.x.x`,
    });
    assert.equal((latest.imageRecipe as Output).version, "1.0.1");
  });

  it("allows the wildcard in the patch only", async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"));
    await assert.rejects(
      createRecipe(world, "1.x.x", [String(componentBuildVersionArn)]),
      refusedWith("InvalidVersionNumberException"),
    );
  });

  it("takes at most 20 components, and only components that exist (Amazon's are not checked)", async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"));
    await assert.rejects(
      createRecipe(world, "1.0.0", Array(21).fill(componentBuildVersionArn)),
      refusedWith("InvalidRequestException", /at most 20/),
    );
    await assert.rejects(
      createRecipe(world, "1.0.0", [`${BASE}:component/missing/1.0.0/1`]),
      refusedWith("InvalidRequestException", /does not exist/),
    );
    const managed = await createRecipe(world, "1.0.0", [
      `arn:aws:imagebuilder:${REGION}:aws:component/update-linux/x.x.x`,
      `${BASE}:component/hardening/x.x.x`,
    ]);
    assert.equal(managed.imageRecipeArn, `${BASE}:image-recipe/web/1.0.0`);
  });

  it("answers a repeated client token with the first result, and refuses it for another request", async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"));
    const request = {
      name: "web",
      semanticVersion: "1.0.x",
      parentImage: "ami-0123456789abcdef0",
      components: [{ componentArn: componentBuildVersionArn }],
      clientToken: "deploy-42",
    };
    const first = await imageBuilder(world, "CreateImageRecipe", request);
    const again = await imageBuilder(world, "CreateImageRecipe", request);
    assert.equal(again.imageRecipeArn, first.imageRecipeArn);
    assert.equal(world.imageBuilderResources.recipes.size, 1);
    await assert.rejects(
      imageBuilder(world, "CreateImageRecipe", { ...request, description: "other" }),
      refusedWith("IdempotentParameterMismatchException"),
    );
  });
});

describe("a pipeline created through the API builds and distributes like any other", () => {
  const pipelineWorld = async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"));
    const { imageRecipeArn } = await createRecipe(world, "1.0.x", [
      String(componentBuildVersionArn),
    ]);
    const { infrastructureConfigurationArn } = await imageBuilder(
      world,
      "CreateInfrastructureConfiguration",
      { name: "web", instanceProfileName: "EC2InstanceProfileForImageBuilder" },
    );
    const { distributionConfigurationArn } = await imageBuilder(
      world,
      "CreateDistributionConfiguration",
      {
        name: "web",
        distributions: [
          { region: REGION, amiDistributionConfiguration: { targetAccountIds: [TARGET] } },
        ],
      },
    );
    const { imagePipelineArn } = await imageBuilder(world, "CreateImagePipeline", {
      name: "web",
      imageRecipeArn,
      infrastructureConfigurationArn,
      distributionConfigurationArn,
      imageTags: { team: "web" },
    });
    return {
      world,
      componentBuildVersionArn,
      imageRecipeArn,
      imagePipelineArn: String(imagePipelineArn),
    };
  };

  it("builds the recipe's version with the execution's tags, and distributes to the configured accounts", async () => {
    const { world, imagePipelineArn } = await pipelineWorld();
    const started = await imageBuilder(world, "StartImagePipelineExecution", {
      imagePipelineArn,
      clientToken: "commit-abc123",
      tags: { commit: "abc123" },
    });
    assert.equal(started.imageBuildVersionArn, `${BASE}:image/web/1.0.0/1`);
    world.clock.advance(60 * 60_000);
    const { image } = await imageBuilder(world, "GetImage", {
      imageBuildVersionArn: started.imageBuildVersionArn,
    });
    const built = image as Output & { outputResources: { amis: Array<{ accountId: string }> } };
    assert.equal((built.state as Output).status, "AVAILABLE");
    assert.deepEqual(built.tags, { team: "web", commit: "abc123" });
    assert.deepEqual(built.outputResources.amis.map((ami) => ami.accountId).sort(), [
      ACCOUNT,
      TARGET,
    ]);
    assert.equal((built.imageRecipe as Output).arn, `${BASE}:image-recipe/web/1.0.0`);
  });

  it("spells names in ARNs in lower case with hyphens, and answers GetImage within the API model", async () => {
    const world = newWorld();
    const { componentBuildVersionArn } = await createComponent(world, document("echo"), {
      name: "CIS Hardening",
    });
    assert.equal(componentBuildVersionArn, `${BASE}:component/cis-hardening/1.0.0/1`);
    const { imageRecipeArn } = await imageBuilder(world, "CreateImageRecipe", {
      name: "Web Server",
      semanticVersion: "2.1.x",
      parentImage: "ami-0123456789abcdef0",
      components: [{ componentArn: componentBuildVersionArn }],
    });
    assert.equal(imageRecipeArn, `${BASE}:image-recipe/web-server/2.1.0`);
    const { infrastructureConfigurationArn } = await imageBuilder(
      world,
      "CreateInfrastructureConfiguration",
      { name: "Web Server", instanceProfileName: "EC2InstanceProfileForImageBuilder" },
    );
    const { distributionConfigurationArn } = await imageBuilder(
      world,
      "CreateDistributionConfiguration",
      { name: "Web Server", distributions: [{ region: REGION }] },
    );
    const { imagePipelineArn } = await imageBuilder(world, "CreateImagePipeline", {
      name: "Web Server",
      imageRecipeArn,
      infrastructureConfigurationArn,
      distributionConfigurationArn,
    });
    const { imageBuildVersionArn } = await imageBuilder(world, "StartImagePipelineExecution", {
      imagePipelineArn,
      clientToken: "first",
    });
    assert.equal(imageBuildVersionArn, `${BASE}:image/web-server/2.1.0/1`);
    const { image } = await imageBuilder(world, "GetImage", { imageBuildVersionArn });
    assert.equal((image as Output).name, "Web Server");
    assert.equal(
      ((image as Output).distributionConfiguration as Output).arn,
      `${BASE}:distribution-configuration/web-server`,
    );
  });

  it("starts nothing for a repeated client token, and refuses it with other tags", async () => {
    const { world, imagePipelineArn } = await pipelineWorld();
    const request = { imagePipelineArn, clientToken: "commit-abc123", tags: { commit: "abc123" } };
    const first = await imageBuilder(world, "StartImagePipelineExecution", request);
    const again = await imageBuilder(world, "StartImagePipelineExecution", request);
    assert.equal(again.imageBuildVersionArn, first.imageBuildVersionArn);
    assert.equal(world.imageBuilder.imagesOf(imagePipelineArn).length, 1);
    await assert.rejects(
      imageBuilder(world, "StartImagePipelineExecution", {
        ...request,
        tags: { commit: "def456" },
      }),
      refusedWith("IdempotentParameterMismatchException"),
    );
  });

  it("builds the new recipe version once the pipeline is updated to it", async () => {
    const { world, componentBuildVersionArn, imagePipelineArn } = await pipelineWorld();
    const { imageRecipeArn } = await createRecipe(world, "1.0.x", [
      String(componentBuildVersionArn),
    ]);
    const { imagePipeline } = await imageBuilder(world, "GetImagePipeline", { imagePipelineArn });
    const {
      arn: _arn,
      name: _name,
      dateCreated: _c,
      platform: _p,
      status: _s,
      tags: _t,
      ...rest
    } = imagePipeline as Output;
    await imageBuilder(world, "UpdateImagePipeline", { ...rest, imagePipelineArn, imageRecipeArn });
    const started = await imageBuilder(world, "StartImagePipelineExecution", {
      imagePipelineArn,
      clientToken: "commit-def456",
    });
    assert.equal(started.imageBuildVersionArn, `${BASE}:image/web/1.0.1/1`);
    await assert.rejects(
      imageBuilder(world, "DeleteImageRecipe", { imageRecipeArn }),
      refusedWith("ResourceDependencyException"),
    );
  });
});
