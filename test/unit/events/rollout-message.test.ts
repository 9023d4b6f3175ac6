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
      pipeline: "base-al2023",
      imageArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.4.0/7",
      wave: "dev",
      waveIndex: 0,
      account: "dev",
      accountId: "111111111111",
      region: "eu-west-1",
      amiId: "ami-0a1b2c3d4e5f60002",
      attempt: 0,
    });
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
