import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  GetImageCommand,
  ImagebuilderClient,
  ListWorkflowExecutionsCommand,
  ListWorkflowStepExecutionsCommand,
} from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import { diagnoseBuildFailure } from "../../../lib/alerts/diagnose.ts";

const imageBuilder = mockClient(ImagebuilderClient);
const logs = mockClient(CloudWatchLogsClient);
const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/web-ubuntu2404/2.0.3/12";
const deps = () => ({
  imageBuilder: new ImagebuilderClient({ region: "eu-west-1" }),
  logs: new CloudWatchLogsClient({ region: "eu-west-1" }),
  timeoutMs: 200,
});

describe("diagnosing a failed build", () => {
  beforeEach(() => {
    imageBuilder.reset();
    logs.reset();
    imageBuilder.on(GetImageCommand).resolves({
      image: {
        state: { status: "FAILED", reason: "Image Build Failure: Step 'ValidateBuild' failed" },
      },
    });
    imageBuilder.on(ListWorkflowExecutionsCommand).resolves({
      workflowExecutions: [
        { workflowExecutionId: "wf-build", status: "COMPLETED" },
        { workflowExecutionId: "wf-test", status: "FAILED", message: "test workflow failed" },
      ],
    });
    imageBuilder
      .on(ListWorkflowStepExecutionsCommand, { workflowExecutionId: "wf-test" })
      .resolves({
        steps: [
          { name: "LaunchTestInstance", status: "COMPLETED" },
          {
            name: "ValidateBuild",
            status: "FAILED",
            message: "Component hardening-cis exited 1, token=abc123",
          },
        ],
      });
  });

  it("finds the reason, the failing step and the log tail of /aws/imagebuilder/<recipe>, redacted", async () => {
    logs.on(GetLogEventsCommand).resolves({
      events: Array.from({ length: 25 }, (_, i) => ({
        message: i === 24 ? "password=hunter2 failed" : `line ${i}\n`,
      })),
    });

    const diagnosis = await diagnoseBuildFailure(IMAGE, deps());

    assert.equal(diagnosis.failedStep, "ValidateBuild");
    assert.equal(diagnosis.stepMessage, "Component hardening-cis exited 1, token=****");
    assert.equal(diagnosis.reason, "Image Build Failure: Step 'ValidateBuild' failed");
    assert.deepEqual(
      [diagnosis.logGroup, diagnosis.logStream],
      ["/aws/imagebuilder/web-ubuntu2404", "2.0.3/12"],
    );
    assert.equal(diagnosis.logExcerpt?.length, 20);
    assert.equal(diagnosis.logExcerpt?.at(-1), "password=**** failed");
    assert.deepEqual(logs.commandCalls(GetLogEventsCommand)[0]?.args[0].input, {
      logGroupName: "/aws/imagebuilder/web-ubuntu2404",
      logStreamName: "2.0.3/12",
      limit: 20,
      startFromHead: false,
    });
    assert.equal(diagnosis.unavailable, undefined);
  });

  it("reads the log group of the recipe name as written (the ARN lowercases it), or the configured one", async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: "boom" }] });
    imageBuilder.on(GetImageCommand).resolves({
      image: { name: "Web-Ubuntu2404", state: { status: "FAILED", reason: "failed" } },
    });

    const byName = await diagnoseBuildFailure(IMAGE, deps());

    assert.equal(byName.logGroup, "/aws/imagebuilder/Web-Ubuntu2404");
    imageBuilder.on(GetImageCommand).resolves({
      image: {
        name: "Web-Ubuntu2404",
        state: { status: "FAILED" },
        loggingConfiguration: { logGroupName: "/platform/image-builds" },
      },
    });

    const configured = await diagnoseBuildFailure(IMAGE, deps());

    assert.equal(configured.logGroup, "/platform/image-builds");
    assert.equal(
      logs.commandCalls(GetLogEventsCommand).at(-1)?.args[0].input.logGroupName,
      "/platform/image-builds",
    );
  });

  it("degrades instead of failing when a lookup fails or hangs", async () => {
    logs.on(GetLogEventsCommand).callsFake(() => new Promise(() => undefined));
    imageBuilder
      .on(ListWorkflowExecutionsCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));

    const started = Date.now();
    const diagnosis = await diagnoseBuildFailure(IMAGE, deps());

    assert.ok(Date.now() - started < 2000, "bounded by the per-lookup timeout");
    assert.equal(diagnosis.reason, "Image Build Failure: Step 'ValidateBuild' failed");
    assert.equal(diagnosis.logExcerpt, undefined);
    assert.deepEqual(
      diagnosis.unavailable?.map((entry) => entry.split(" (")[0]),
      ["workflow executions", "build log"],
    );
  });
});
