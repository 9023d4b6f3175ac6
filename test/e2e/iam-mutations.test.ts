import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRollout } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

/**
 * The proof that the sandbox enforces the IAM policies we deploy: take one permission out of a
 * function's role (as serverless.yml derives it) or out of the target-account role (as the
 * template creates it), and the rollout fails with that service's AccessDenied; put it back and
 * the same rollout succeeds.
 */

const BUILD = "999999999999";
const TARGET = "111111111111";
const PIPELINE = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/golden`;
const TARGET_ROLE = `arn:aws:iam::${TARGET}:role/ami-orchestrator-target`;
const MINUTE = 60_000;
const CONFIG = `
accounts:
  team: { id: "${TARGET}", externalId: ext-team-01, regions: [eu-west-1] }
pipelines:
  - name: golden
    arn: ${PIPELINE}
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications
    rollout:
      waves: [{ name: all, accounts: [team] }]
      autoScalingGroups: { tags: { "ami-orchestrator:pipeline": golden } }
      grantPropagationSeconds: 120
`;

interface Mutation {
  /** Function names (their roles from serverless.yml) or the target role's ARN. */
  readonly role: string | readonly string[];
  readonly action: string;
  /** How the refused service spells the refusal. */
  readonly error: string;
}

const MUTATIONS: Mutation[] = [
  { role: TARGET_ROLE, action: "kms:CreateGrant", error: "AccessDeniedException" },
  {
    role: TARGET_ROLE,
    action: "ec2:CreateLaunchTemplateVersion",
    error: "UnauthorizedOperation",
  },
  { role: TARGET_ROLE, action: "autoscaling:StartInstanceRefresh", error: "AccessDenied" },
  // What Auto Scaling checks of the caller when the pin or the refresh names the template.
  { role: TARGET_ROLE, action: "ec2:RunInstances", error: "AccessDenied" },
  // on-image-state enqueues the first wave, and watch-rollouts' poll re-dispatches it when that
  // failed: both must lose the permission for the targets never to be reached.
  { role: ["on-image-state", "watch-rollouts"], action: "sqs:SendMessage", error: "AccessDenied" },
  {
    role: "start-pipelines",
    action: "imagebuilder:StartImagePipelineExecution",
    error: "AccessDeniedException",
  },
  { role: "watch-rollouts", action: "dynamodb:Query", error: "AccessDeniedException" },
];

describe("IAM mutations: a permission taken out of what we deploy fails the rollout", () => {
  const sandbox = sandboxSuite(CONFIG, { start: "2026-11-23T01:00:00Z" });

  /** A scheduled build, its notification, and everything after it, to the end. */
  const rollout = async () => {
    const { world, handlers, lambda, dynamo } = sandbox.session;
    const refusalsBefore = world.authorizer.refusals.length;
    const start = new Date(world.clock.now() + MINUTE).toISOString();
    world.clock.advanceTo(start);
    // A pipeline that could not be started fails the invocation (and the scheduler retries).
    await handlers
      .startPipelines({ pipeline: "golden", scheduledTime: start }, fakeContext("start-pipelines"))
      .catch(() => undefined);
    const image = world.imageBuilder
      .imagesOf(PIPELINE)
      .find((candidate) => candidate.createdAt >= Date.parse(start));
    world.clock.advance(40 * MINUTE);
    await lambda.run(world.clock.now() + 4 * 60 * MINUTE);
    // What the next run starts from: nothing left queued by a broken one.
    world.queues.rollout.messages.length = 0;
    world.queues.deadLetter.messages.length = 0;
    world.queues.alerts.messages.length = 0;
    const state = image ? await loadRollout(dynamo.db, dynamo.table, image.arn) : undefined;
    return {
      status: state?.record.status ?? "no rollout",
      refusals: world.authorizer.refusals.slice(refusalsBefore),
    };
  };

  it("the unmutated policies roll out with nothing refused", async () => {
    const { status, refusals } = await rollout();
    assert.deepEqual(refusals, []);
    assert.equal(status, "succeeded");
  });

  for (const mutation of MUTATIONS) {
    const roles = typeof mutation.role === "string" ? [mutation.role] : mutation.role;
    const owner = roles
      .map((role) => (role.startsWith("arn:") ? "the target role" : role))
      .join(" and ");
    it(`without ${mutation.action} in ${owner}: ${mutation.error}, and it passes once restored`, async () => {
      const restores = roles.map((role) =>
        sandbox.session.world.authorizer.withoutPermission(role, mutation.action),
      );
      let broken: Awaited<ReturnType<typeof rollout>>;
      try {
        broken = await rollout();
      } finally {
        for (const restore of restores) restore();
      }
      assert.notEqual(broken.status, "succeeded");
      const refused = broken.refusals.find((refusal) => refusal.action === mutation.action);
      assert.ok(refused, `${mutation.action} refused (${JSON.stringify(broken.refusals)})`);
      assert.equal(refused.error, mutation.error);

      const restored = await rollout();
      assert.deepEqual(restored.refusals, []);
      assert.equal(restored.status, "succeeded");
    });
  }
});
