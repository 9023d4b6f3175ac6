import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidEventError } from "../../../lib/errors.ts";
import { parseAlertMessage, parseDeadLetterAlarm } from "../../../lib/events/alert-message.ts";

const alarm = (state: string) =>
  JSON.stringify({
    AlarmName: "ami-orchestrator-prod-RolloutDeadLetterAlarm-1X2Y",
    AlarmDescription: "Rollout messages were dead-lettered (a target could not be rolled out).",
    AWSAccountId: "999999999999",
    NewStateValue: state,
    NewStateReason: "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).",
    StateChangeTime: "2026-11-23T05:00:00.000+0000",
    Region: "EU (Ireland)",
    AlarmArn:
      "arn:aws:cloudwatch:eu-west-1:999999999999:alarm:ami-orchestrator-prod-RolloutDeadLetterAlarm-1X2Y",
    OldStateValue: "OK",
    Trigger: {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Namespace: "AWS/SQS",
      Dimensions: [
        { value: "ami-orchestrator-prod-RolloutDeadLetterQueue-AbC", name: "QueueName" },
      ],
    },
  });

describe("alert messages", () => {
  it("turns a dead-letter alarm into an alert naming the queue", () => {
    assert.deepEqual(parseDeadLetterAlarm(alarm("ALARM")), {
      kind: "dead-letters",
      queue:
        "https://sqs.eu-west-1.amazonaws.com/999999999999/ami-orchestrator-prod-RolloutDeadLetterQueue-AbC",
      alarm: "ami-orchestrator-prod-RolloutDeadLetterAlarm-1X2Y",
      description: "Rollout messages were dead-lettered (a target could not be rolled out).",
    });
  });

  it("ignores the alarm going back to OK", () => {
    assert.equal(parseDeadLetterAlarm(alarm("OK")), undefined);
  });

  it("parses a queued alert and rejects one missing its subject, naming the field", () => {
    assert.deepEqual(
      parseAlertMessage(
        JSON.stringify({
          kind: "rollout-superseded",
          rolloutId: "a/1.0.0/1",
          pipeline: "a",
          supersededBy: "a/1.0.0/2",
        }),
      ),
      {
        kind: "rollout-superseded",
        rolloutId: "a/1.0.0/1",
        pipeline: "a",
        supersededBy: "a/1.0.0/2",
      },
    );
    assert.throws(
      () => parseAlertMessage(JSON.stringify({ kind: "build-failed" })),
      (error: unknown) =>
        error instanceof InvalidEventError && /imageArn: .*\(missing\)/.test(error.message),
    );
  });
});
