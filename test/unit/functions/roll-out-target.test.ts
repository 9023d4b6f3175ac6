import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { makeHandler } from "../../../functions/roll-out-target.ts";
import { fakeContext } from "../../../sandbox/lambda.ts";
import { loadEvent } from "../../helpers/fixtures.ts";
import { recordingObservability, theOnlyError } from "../../helpers/observability.ts";

const [sample] = loadEvent<SQSEvent>("sqs-rollout-batch").Records;
if (!sample) throw new Error("the sample SQS batch has no record");

const record = (messageId: string, body: string, receiveCount = 1): SQSRecord => ({
  ...sample,
  messageId,
  body,
  attributes: { ...sample.attributes, ApproximateReceiveCount: String(receiveCount) },
});

const setup = () => {
  const { logged, counted, observability } = recordingObservability();
  let depsUsed = false;
  const handler = makeHandler(() => {
    depsUsed = true;
    throw new Error("a poison message must be rejected before any dependency is built");
  }, observability);
  return {
    logged,
    counted,
    depsUsed: () => depsUsed,
    invoke: (...records: SQSRecord[]) =>
      handler({ Records: records }, fakeContext("roll-out-target")),
  };
};

const validBody = JSON.parse(sample.body) as Record<string, unknown>;

describe("roll-out-target: poison messages", () => {
  it("logs a body that is not JSON once with its message id, field and reason, counts it, and fails the record for the DLQ", async () => {
    const { invoke, logged, counted, depsUsed } = setup();

    const response = await invoke(record("m-not-json", "roll it out"));

    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: "m-not-json" }]);
    assert.deepEqual(counted, ["TargetMessageRejected"]);
    const { fields } = theOnlyError(logged);
    assert.equal(fields.messageId, "m-not-json");
    assert.equal(fields.field, "body");
    assert.match(String(fields.reason), /not JSON/);
    assert.equal(depsUsed(), false);
  });

  it("names the failing field of a JSON body that breaks the schema, and its value", async () => {
    const { invoke, logged, counted } = setup();

    const response = await invoke(
      record("m-bad-account", JSON.stringify({ ...validBody, accountId: "12345" })),
    );

    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: "m-bad-account" }]);
    assert.deepEqual(counted, ["TargetMessageRejected"]);
    const [error] = logged.filter((log) => log.level === "error");
    assert.equal(error?.fields.messageId, "m-bad-account");
    assert.equal(error?.fields.field, "accountId");
    assert.equal(error?.fields.reason, "expected a 12-digit account id");
    assert.equal(error?.fields.got, '"12345"');
  });

  it("reports a message once across its redeliveries: later receives fail it again, silently", async () => {
    const { invoke, logged, counted } = setup();
    const body = JSON.stringify({ ...validBody, region: "moon-1" });

    for (let receive = 1; receive <= 5; receive += 1) {
      const response = await invoke(record("m-poison", body, receive));
      assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: "m-poison" }]);
    }

    assert.deepEqual(counted, ["TargetMessageRejected"]);
    assert.equal(logged.filter((log) => log.level === "error").length, 1);
  });

  it("never logs a huge poison body whole", async () => {
    const { invoke, logged } = setup();

    await invoke(
      record("m-huge", JSON.stringify({ ...validBody, accountId: "1".repeat(200_000) })),
    );

    assert.equal(logged.length, 1);
    assert.ok(JSON.stringify(logged).length < 5_000);
  });
});
