import assert from "node:assert/strict";
import { fakeContext } from "../../sandbox/lambda.ts";
import type { SandboxGroup } from "../../sandbox/model/auto-scaling.ts";
import type { SandboxSession } from "../../sandbox/session.ts";
import { BUILD_ACCOUNT, pipelineArn } from "./fixtures.ts";
import { DEV_ACCOUNT, PROD_ACCOUNT } from "./target-account.ts";

/**
 * The scenario most sandbox suites start from: the base-al2023 pipeline of the build account,
 * rolled to one target account's eu-west-1 groups tagged for it; an image built, then everything
 * run until the rollout is done.
 */

export const REGION = "eu-west-1";
export const MINUTE = 60_000;
/** The pipeline the scenarios build, in the build account's eu-west-1. */
export const BASE_PIPELINE = pipelineArn("base-al2023");

/**
 * The config of a scenario (YAML, as users write it): base-al2023 rolled in one wave, named
 * after the account, to its groups tagged `ami-orchestrator:pipeline: base-al2023`.
 */
export const onePipelineConfig = ({
  account,
  rollout = [],
  grantPropagationSeconds = 60,
  sections = "",
  morePipelines = "",
}: {
  readonly account: "dev" | "prod";
  /** More `rollout` settings, one YAML line each (e.g. `instanceRefresh: { ... }`). */
  readonly rollout?: readonly string[];
  readonly grantPropagationSeconds?: number;
  /** Top-level sections before `accounts` (e.g. `notifications`), in YAML. */
  readonly sections?: string;
  /** More items of `pipelines`, in YAML. */
  readonly morePipelines?: string;
}): string => `
${sections}accounts:
  ${account}: { id: "${account === "dev" ? DEV_ACCOUNT : PROD_ACCOUNT}", externalId: ext-${account}-01, regions: [${REGION}] }
pipelines:
  - name: base-al2023
    arn: ${BASE_PIPELINE}
    notificationTopicArn: arn:aws:sns:${REGION}:${BUILD_ACCOUNT}:imagebuilder-notifications
    rollout:
      waves: [{ name: ${account}, accounts: [${account}] }]
      autoScalingGroups: { tags: { "ami-orchestrator:pipeline": base-al2023 } }
${rollout.map((line) => `      ${line}\n`).join("")}      grantPropagationSeconds: ${grantPropagationSeconds}
${morePipelines}`;

/**
 * start-pipelines runs for `pipeline` at `at`, then the build's 45 minutes pass: the pipeline's
 * latest image (AVAILABLE unless the build failed), its notification not yet delivered.
 */
export const buildImage = async (
  { world, handlers }: SandboxSession,
  {
    pipeline = "base-al2023",
    at = "2026-11-23T02:00:00Z",
  }: { pipeline?: string; at?: string } = {},
) => {
  await handlers.startPipelines({ pipeline, scheduledTime: at }, fakeContext("start-pipelines"));
  world.clock.advance(45 * MINUTE);
  return world.imageBuilder.imagesOf(pipelineArn(pipeline)).at(-1);
};

/**
 * An image of base-al2023 built, then everything run for three hours: the prod account's group
 * base-al2023-app rolled, and the grant the rollout created for it. Returns the group and the
 * grant's key.
 */
export const rolledOutProdApp = async (
  session: SandboxSession,
): Promise<{ app: SandboxGroup; keyArn: string }> => {
  const { world, lambda } = session;
  await buildImage(session);
  await lambda.run(world.clock.now() + 3 * 3600_000);
  const app = world.autoScaling.groups.get(`${PROD_ACCOUNT}|${REGION}|base-al2023-app`);
  assert.ok(app, "the sandbox group");
  const [grant] = [...world.kms.keys.keys()].flatMap((key) => world.kms.grantsOn(key));
  assert.ok(grant, "the rollout created a grant");
  return { app, keyArn: grant.keyArn };
};
