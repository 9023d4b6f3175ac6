import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InvalidEventError } from "../../../lib/errors.ts";
import {
  checkEventDepth,
  checkJsonText,
  jsonTextDepth,
  MAX_DEPTH,
  MAX_MESSAGE_BYTES,
  valueDepth,
} from "../../../lib/events/bounds.ts";
import { loadEvent } from "../../helpers/fixtures.ts";

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("bounds on untrusted JSON", () => {
  it("the text scan and the parsed walk agree on the depth of any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), (value) => {
        const text = JSON.stringify(value);
        assert.equal(jsonTextDepth(text, 1_000), valueDepth(JSON.parse(text), 1_000));
      }),
    );
  });

  it("brackets and escaped quotes inside strings are not nesting", () => {
    assert.equal(jsonTextDepth(JSON.stringify({ a: '[[[{"x": "\\"]]]' })), 1);
    assert.equal(jsonTextDepth(JSON.stringify(["\\", ["\\\\"]])), 2);
  });

  it(`accepts ${MAX_DEPTH} levels, refuses ${MAX_DEPTH + 1}, as text and as a parsed event`, () => {
    assert.doesNotThrow(() => checkJsonText(nested(MAX_DEPTH), "message", "body"));
    assert.throws(
      () => checkJsonText(nested(MAX_DEPTH + 1), "message", "body"),
      (error: unknown) =>
        error instanceof InvalidEventError &&
        error.message === `not a valid message: body: nested deeper than ${MAX_DEPTH} levels` &&
        error.problems[0]?.field === "body",
    );
    assert.doesNotThrow(() => checkEventDepth(JSON.parse(nested(MAX_DEPTH)), "event"));
    assert.throws(
      () => checkEventDepth(JSON.parse(nested(MAX_DEPTH + 1)), "event"),
      InvalidEventError,
    );
  });

  it("every sample event is far inside the depth bound", () => {
    for (const name of [
      "imagebuilder-sns-available",
      "imagebuilder-sns-available-shared",
      "imagebuilder-eventbridge-image-available",
      "asg-instance-refresh-succeeded",
      "asg-launch-unsuccessful",
      "sqs-rollout-batch",
    ]) {
      const event = loadEvent(name);
      assert.ok(valueDepth(event) <= 8, name);
      const messages = (event as { Records?: Array<{ Sns?: { Message: string } }> }).Records ?? [];
      for (const record of messages)
        if (record.Sns) assert.ok(jsonTextDepth(record.Sns.Message) <= 8, `${name} message`);
    }
  });

  it("counts the size in UTF-8 bytes: what AWS measures, not characters", () => {
    assert.doesNotThrow(() =>
      checkJsonText(JSON.stringify("x".repeat(MAX_MESSAGE_BYTES - 2)), "m", "body"),
    );
    assert.throws(
      () => checkJsonText(JSON.stringify("x".repeat(MAX_MESSAGE_BYTES - 1)), "m", "body"),
      /body: larger than 1048576 bytes \(1048577\)/,
    );
    // 2 bytes each in UTF-8: 600,000 characters are 1.2 MB.
    assert.throws(
      () => checkJsonText(JSON.stringify("é".repeat(600_000)), "m", "body"),
      /larger than/,
    );
  });

  it("a refused value is summarised, never kept whole", () => {
    const deep = JSON.parse(`${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`);
    try {
      checkEventDepth({ source: "aws.autoscaling", "detail-type": "x", detail: deep }, "event");
      assert.fail("refused");
    } catch (error) {
      assert.ok(error instanceof InvalidEventError);
      assert.deepEqual(error.event, {
        source: "aws.autoscaling",
        "detail-type": "x",
        keys: ["source", "detail-type", "detail"],
      });
    }
  });
});
