import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidEventError } from "../../../lib/errors.ts";
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

const ours = {
  pollRuleArn: () => "arn:aws:events:eu-west-1:999999999999:rule/ami-orchestrator-poll",
};

describe("watch-rollouts requests", () => {
  it("our schedule rule's event is a poll, and its time is not kept: our clock decides", () => {
    assert.deepEqual(parseWatchRequest(scheduled("2026-11-23T09:05:00Z"), ours), { kind: "poll" });
    assert.deepEqual(parseWatchRequest(scheduled(), ours), { kind: "poll" });
    assert.deepEqual(parseWatchRequest({ action: "poll" }, ours), { kind: "poll" });
  });

  it("a Scheduled Event from any other rule is refused, naming the rule", () => {
    const other = {
      ...scheduled("2026-11-23T09:05:00Z"),
      resources: ["arn:aws:events:eu-west-1:999999999999:rule/other"],
    };
    assert.throws(
      () => parseWatchRequest(other, ours),
      (error: unknown) => {
        assert.ok(error instanceof InvalidEventError);
        assert.match(error.message, /rule\/other.*not this stack's poll rule/);
        assert.deepEqual(
          error.problems.map((problem) => problem.field),
          ["resources[0]"],
        );
        return true;
      },
    );
  });

  it("npm run doctor's request: every pipeline, or one; anything else is refused", () => {
    assert.deepEqual(parseWatchRequest({ action: "doctor" }, ours), { kind: "doctor" });
    assert.deepEqual(parseWatchRequest({ action: "doctor", pipeline: "base-al2023" }, ours), {
      kind: "doctor",
      pipeline: "base-al2023",
    });
    assert.throws(() => parseWatchRequest({ action: "doctor", pipeline: 42 }, ours));
  });
});
