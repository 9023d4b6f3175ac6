import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseWatchRequest } from "../../../lib/events/watch-request.ts";

const scheduled = (time?: string) => ({
  version: "0",
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "999999999999",
  ...(time === undefined ? {} : { time }),
  region: "eu-west-1",
  resources: ["arn:aws:events:eu-west-1:999999999999:rule/ami-orchestrator-poll"],
  detail: {},
});

describe("watch-rollouts requests", () => {
  it("a scheduled poll carries the schedule's time: AWS's clock, which times bakes", () => {
    assert.deepEqual(parseWatchRequest(scheduled("2026-11-23T09:05:00Z")), {
      kind: "poll",
      awsTime: Date.parse("2026-11-23T09:05:00Z"),
    });
  });

  it("a poll without a usable time falls back to our clock", () => {
    assert.deepEqual(parseWatchRequest(scheduled()), { kind: "poll" });
    assert.deepEqual(parseWatchRequest(scheduled("soon")), { kind: "poll" });
    assert.deepEqual(parseWatchRequest({ action: "poll" }), { kind: "poll" });
  });

  it("npm run doctor's request: every pipeline, or one; anything else is refused", () => {
    assert.deepEqual(parseWatchRequest({ action: "doctor" }), { kind: "doctor" });
    assert.deepEqual(parseWatchRequest({ action: "doctor", pipeline: "base-al2023" }), {
      kind: "doctor",
      pipeline: "base-al2023",
    });
    assert.throws(() => parseWatchRequest({ action: "doctor", pipeline: 42 }));
  });
});
