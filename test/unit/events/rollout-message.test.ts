import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SQSEvent } from "aws-lambda";
import { InvalidEventError } from "../../../lib/errors.ts";
import { parseTargetMessage } from "../../../lib/events/rollout-message.ts";
import { loadEvent } from "../../helpers/fixtures.ts";

describe("rollout queue messages", () => {
  it("parses the sample SQS record's body", () => {
    const [record] = loadEvent<SQSEvent>("sqs-rollout-batch").Records;
    const message = parseTargetMessage(record?.body ?? "");
    assert.deepEqual(message, {
      rolloutId: "base-al2023/1.4.0/7",
      accountId: "111111111111",
      region: "eu-west-1",
      attempt: 0,
    });
  });

  it("reads ids only: an AMI, a pipeline or an account alias in the body is dropped unread", () => {
    // Whoever may send to the queue could write them: roll-out-target takes them from the
    // records on-image-state wrote after GetImage (test/e2e/forged-messages.test.ts).
    const message = parseTargetMessage(
      JSON.stringify({
        rolloutId: "base-al2023/1.4.0/7",
        accountId: "111111111111",
        region: "eu-west-1",
        amiId: "ami-0badbadbadbadbad0",
        pipeline: "another-pipeline",
        account: "prod",
      }),
    );
    assert.deepEqual(Object.keys(message).sort(), ["accountId", "attempt", "region", "rolloutId"]);
  });

  it("names the bad field and its value", () => {
    const [record] = loadEvent<SQSEvent>("sqs-rollout-batch").Records;
    const body = { ...JSON.parse(record?.body ?? "{}"), accountId: 1111, region: undefined };
    assert.throws(
      () => parseTargetMessage(JSON.stringify(body)),
      (error: unknown) =>
        error instanceof InvalidEventError &&
        /accountId: .*\(got 1111\)/.test(error.message) &&
        /region: .*\(missing\)/.test(error.message),
    );
  });

  it("rejects a body that is not JSON, quoting it", () => {
    assert.throws(() => parseTargetMessage("roll it out"), /not JSON.*"roll it out"/);
  });
});
