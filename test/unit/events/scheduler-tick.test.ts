import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidEventError } from "../../../lib/errors.ts";
import { parseSchedulerTick } from "../../../lib/events/scheduler-tick.ts";
import { loadEvent } from "../../helpers/fixtures.ts";

describe("parseSchedulerTick", () => {
  it("reads the sample Scheduler input", () => {
    assert.deepEqual(parseSchedulerTick(loadEvent("scheduler-tick")), {
      pipelines: ["base-al2023"],
      scheduledTime: "2026-11-23T02:00:00Z",
    });
  });

  it("accepts a list of pipelines for a manual run, without a scheduled time", () => {
    assert.deepEqual(parseSchedulerTick({ pipelines: ["a", "b", "a"] }), { pipelines: ["a", "b"] });
  });

  for (const [label, event, message] of [
    [
      "no pipeline",
      { scheduledTime: "2026-11-23T02:00:00Z" },
      /exactly one of "pipeline" or "pipelines"/,
    ],
    [
      "a bad time",
      { pipeline: "a", scheduledTime: "yesterday" },
      /scheduledTime: expected an ISO 8601 timestamp \(got "yesterday"\)/,
    ],
    ["an unknown field", { pipeline: "a", pipelne: "b" }, /pipelne/],
    ["not an object", "start base", /not a valid scheduler tick/],
    [
      "an unsubstituted placeholder",
      { pipeline: "a", scheduledTime: "<aws.scheduler.scheduled-time>" },
      /scheduledTime/,
    ],
  ] as const) {
    it(`rejects ${label}, naming the field`, () => {
      assert.throws(
        () => parseSchedulerTick(event),
        (error: unknown) => {
          assert.ok(error instanceof InvalidEventError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});
