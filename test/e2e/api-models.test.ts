import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getRollout } from "../../lib/rollout/store.ts";
import { API_MODELS, type Violation, violationsOf } from "../../sandbox/api-models/validate.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const BASE = "base-al2023";
const WEB = "web-ubuntu2404";

/**
 * The `npm start` story (config/orchestrator.yml: a build, its two-wave rollout to the end, then a
 * failed build of the other pipeline and its alerts), with every response the sandbox returns
 * checked against the operation's output shape in the API models, independently of the check
 * world.call makes itself.
 */
describe("every sandbox response in the npm start story fits the AWS API models", () => {
  const checked = new Map<string, number>();
  const violations: Array<Violation & { operation: string }> = [];
  // Calls made setting the world up (the image stack's deploy, whose first DescribeStacks finds
  // no stack: CloudFormation's ValidationError, not a refused request) are not the story's.
  let setUpCalls = 0;
  const sandbox = sandboxSuite(
    undefined,
    (config) => ({
      start: "2026-11-23T01:59:30Z",
      distributionModes: { [WEB]: "share" },
      customSlrAccounts: Object.keys(config.accounts).slice(0, 1),
      legacyLaunchConfigurationGroup: true,
    }),
    (session) => {
      const { world } = session;
      setUpCalls = world.calls.length;
      const call = world.call.bind(world);
      world.call = async (context) => {
        const output = await call(context);
        const key = `${context.service}:${context.operation}`;
        const shape = API_MODELS.services[context.service]?.operations[context.operation]?.output;
        const model = API_MODELS.services[context.service];
        if (shape && model)
          for (const violation of violationsOf(
            { ...model, name: context.service },
            shape,
            output ?? {},
            "output",
          ))
            violations.push({ ...violation, operation: key });
        checked.set(key, (checked.get(key) ?? 0) + 1);
        return output;
      };
    },
  );
  const { config } = sandbox;

  const tick = (pipeline: string, at: string) => {
    sandbox.session.world.clock.advanceTo(at);
    return sandbox.session.handlers.startPipelines(
      { pipeline, scheduledTime: at },
      fakeContext("start-pipelines"),
    );
  };

  it("a build rolls out to every wave, and a failed build alerts", async () => {
    const { world, lambda } = sandbox.session;
    await tick(BASE, "2026-11-23T02:00:00.000Z");
    await lambda.run(Date.parse("2026-11-23T08:00:00Z"));
    const [image] = world.imageBuilder.imagesOf(config.pipelines[0]?.arn ?? "");
    assert.ok(image);
    const rollout = await getRollout(
      sandbox.session.dynamo.db,
      sandbox.session.dynamo.table,
      image.arn,
    );
    assert.equal(rollout?.status, "succeeded");

    const web = config.pipelines.find((pipeline) => pipeline.name === WEB);
    assert.ok(web);
    world.imageBuilder.failNextBuild(web.arn, {
      step: "TESTING",
      failedStep: "ValidateBuild",
      reason: "Image Build Failure: Step 'ValidateBuild' failed",
      logLines: ["Stdout: FAIL 5.2.8", "Stderr: hardening-cis exited with code 1"],
    });
    await tick(WEB, "2026-11-23T09:00:00.000Z");
    await lambda.run(Date.parse("2026-11-23T11:00:00Z"));
    assert.ok(world.sns.published.some((email) => /Image build failed/.test(email.subject ?? "")));
  });

  it("checked the responses of every service the story calls, and none broke its output shape", () => {
    for (const key of [
      "imagebuilder:StartImagePipelineExecution",
      "imagebuilder:GetImage",
      "imagebuilder:ListWorkflowExecutions",
      "imagebuilder:ListWorkflowStepExecutions",
      "sts:AssumeRole",
      "ec2:DescribeImages",
      "ec2:DescribeSnapshots",
      "ec2:CreateLaunchTemplateVersion",
      "kms:DescribeKey",
      "kms:CreateGrant",
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:StartInstanceRefresh",
      "autoscaling:DescribeInstanceRefreshes",
      "sqs:SendMessage",
      "sns:Publish",
      "ssm:GetParameter",
      "logs:GetLogEvents",
    ])
      assert.ok(checked.get(key), `${key} was not called`);
    assert.deepEqual(violations, []);
    const refused = sandbox.session.world.calls
      .slice(setUpCalls)
      .filter((call) =>
        /^(SandboxResponseInvalid|ValidationError|ValidationException|MissingParameter|InvalidParameterValue)$/.test(
          call.error ?? "",
        ),
      );
    assert.deepEqual(
      refused.map((call) => `${call.service}:${call.operation} ${call.error}`),
      [],
    );
  });
});
