import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { loadConfig } from "../../lib/config/load.ts";
import { TAG } from "../../lib/pipelines/names.ts";
import {
  assumeCiRole,
  CI_ROLE_NAME,
  deployManagedPipelines,
  loadManagedPipelines,
} from "../../sandbox/image-stack.ts";
import { worldFromConfig } from "../../sandbox/world-from-config.ts";
import { BUILD_ACCOUNT, repoPath } from "../helpers/fixtures.ts";

/**
 * The sandbox built from config/orchestrator.yml: the managed pipeline (base-al2023) exists as
 * its image stack made it, deployed by CloudFormation as the CI role of templates/ci-role.yml;
 * the pipeline by `arn` (web-ubuntu2404) as before.
 */

const REGION = "eu-west-1";
const BASE = `arn:aws:imagebuilder:${REGION}:${BUILD_ACCOUNT}`;
const CI_ROLE = `arn:aws:iam::${BUILD_ACCOUNT}:role/${CI_ROLE_NAME}`;
const config = loadConfig(repoPath("config/orchestrator.yml"));
const START = "2026-11-23T01:00:00Z";

const call = (
  world: Awaited<ReturnType<typeof worldFromConfig>>,
  operation: string,
  input: Record<string, unknown>,
) =>
  world.call({
    service: "imagebuilder",
    operation,
    accountId: BUILD_ACCOUNT,
    region: REGION,
    input,
  }) as Promise<Record<string, Record<string, unknown>>>;

/** This repository's definitions, copied, with one component changed. */
const changedCopy = (t: TestContext): string => {
  const root = mkdtempSync(join(tmpdir(), "managed-pipelines-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  cpSync(repoPath("pipelines"), join(root, "pipelines"), { recursive: true });
  const file = join(root, "pipelines/base-al2023/components/harden-ssh.yml");
  writeFileSync(file, readFileSync(file, "utf8").replace("MaxAuthTries 3", "MaxAuthTries 2"));
  return root;
};

describe("managed pipelines in the sandbox come from their stack", () => {
  it("deploys the image stack by a change set, as the CI role: pipeline, recipe, components and configurations as CloudFormation made them", async () => {
    const world = await worldFromConfig(config, { start: START });
    const stack = world.imageStack;
    assert.equal(stack?.synthesized.stackName, "ami-orchestrator-sandbox-images");
    assert.equal(stack?.result.status, "CREATE_COMPLETE");
    assert.equal(stack?.result.outputs.BaseAl2023PipelineArn, `${BASE}:image-pipeline/base-al2023`);
    const { imagePipeline } = await call(world, "GetImagePipeline", {
      imagePipelineArn: `${BASE}:image-pipeline/base-al2023`,
    });
    assert.equal(imagePipeline?.imageRecipeArn, `${BASE}:image-recipe/base-al2023/1.0.0`);
    assert.equal(
      imagePipeline?.infrastructureConfigurationArn,
      `${BASE}:infrastructure-configuration/base-al2023`,
    );
    assert.equal(
      (imagePipeline?.tags as Record<string, string> | undefined)?.[TAG.inputHash],
      stack?.synthesized.pipelines[0]?.inputHash,
    );
    const { imageRecipe } = await call(world, "GetImageRecipe", {
      imageRecipeArn: `${BASE}:image-recipe/base-al2023/1.0.0`,
    });
    assert.deepEqual(
      (imageRecipe?.components as Array<{ componentArn: string }> | undefined)?.map(
        (c) => c.componentArn,
      ),
      [
        `arn:aws:imagebuilder:${REGION}:aws:component/update-linux/x.x.x`,
        `${BASE}:component/base-al2023-baseline-packages/1.0.0/1`,
        `${BASE}:component/base-al2023-harden-ssh/1.1.0/1`,
        `arn:aws:imagebuilder:${REGION}:aws:component/amazon-cloudwatch-agent-linux/x.x.x`,
        `${BASE}:component/base-al2023-boot-checks/1.0.0/1`,
      ],
    );
    // Every resource was created by CloudFormation with the CI role's session.
    const creates = world.calls.filter(
      (made) => made.service === "imagebuilder" && made.operation.startsWith("Create"),
    );
    assert.equal(creates.length, 7);
    const sessions = new Set(creates.map((made) => made.accessKeyId));
    assert.equal(sessions.size, 1);
    assert.equal(
      world.sts.sessions.get([...sessions][0] ?? "")?.roleArn,
      CI_ROLE,
      "created as the CI role",
    );
    assert.equal(world.authorizer.refusals.length, 0, world.authorizer.report());
  });

  it("distributes where the pipeline's waves go, and builds an image that rolls out like any other", async () => {
    const world = await worldFromConfig(config, { start: START });
    const pipeline = world.imageBuilder.pipelines.get(`${BASE}:image-pipeline/base-al2023`);
    assert.deepEqual(
      pipeline?.distributions.map((d) => [d.region, [...d.accountIds].sort()]),
      [
        [REGION, ["111111111111", "222222222222"]],
        ["eu-west-3", ["222222222222"]],
      ],
    );
    const { imageBuildVersionArn } = (await call(world, "StartImagePipelineExecution", {
      imagePipelineArn: `${BASE}:image-pipeline/base-al2023`,
      clientToken: "test-1",
    })) as unknown as { imageBuildVersionArn: string };
    assert.equal(imageBuildVersionArn, `${BASE}:image/base-al2023/1.0.0/1`);
    world.clock.advance(60 * 60_000);
    const image = world.imageBuilder.images.get(imageBuildVersionArn);
    assert.equal(image?.status, "AVAILABLE");
    assert.equal(
      (image?.imageRecipe as { arn?: string } | undefined)?.arn,
      `${BASE}:image-recipe/base-al2023/1.0.0`,
    );
  });

  it("leaves the pipeline by arn as it was: created directly, not by the stack", async () => {
    const world = await worldFromConfig(config, { start: START });
    const arn = `${BASE}:image-pipeline/web-ubuntu2404`;
    assert.ok(world.imageBuilder.pipelines.has(arn));
    assert.equal(world.imageBuilderResources.pipelines.has(arn), false);
  });

  it("checks each call of a later deploy against the CI role: without its Image Builder statement, the change rolls back", async (t) => {
    const world = await worldFromConfig(config, { start: START });
    const restore = world.authorizer.withoutStatement(CI_ROLE, "ImageBuilderResources");
    t.after(restore);
    const site = { accountId: BUILD_ACCOUNT, region: REGION };
    await assert.rejects(
      deployManagedPipelines(world, loadManagedPipelines(config, changedCopy(t)), {
        site,
        stage: "sandbox",
        accessKeyId: await assumeCiRole(world, site),
      }),
      /UPDATE_ROLLBACK_COMPLETE/,
    );
    assert.match(
      world.authorizer.report(),
      /assumed-role\/ami-orchestrator-images-ci\/GitHubActions imagebuilder:CreateComponent/,
    );
  });

  it("refuses managed pipelines in options that only pipelines by arn take", async () => {
    await assert.rejects(
      worldFromConfig(config, { start: START, disabledPipelines: ["base-al2023"] }),
      /base-al2023 is a managed pipeline/,
    );
  });
});
