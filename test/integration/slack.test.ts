import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { postToSlack } from "../../lib/alerts/slack.ts";
import { SlackReceiver } from "../../sandbox/slack-receiver.ts";

describe("posting to a Slack webhook (loopback receiver)", () => {
  let slack: SlackReceiver;
  const waits: number[] = [];
  const options = { sleep: async (ms: number) => void waits.push(ms), baseBackoffMs: 100 };
  before(async () => {
    slack = await new SlackReceiver().start();
  });
  after(() => slack.close());

  it("posts the message once on 200", async () => {
    waits.length = 0;
    const result = await postToSlack(slack.url, { text: "hello" }, options);
    assert.deepEqual(result, { ok: true, attempts: 1 });
    assert.deepEqual(slack.messages.at(-1), { text: "hello" });
  });

  it("on 429 waits exactly the Retry-After Slack asked for, then posts", async () => {
    waits.length = 0;
    slack.script({ status: 429, headers: { "retry-after": "2" }, body: "rate_limited" });
    const result = await postToSlack(slack.url, { text: "after 429" }, options);
    assert.deepEqual(result, { ok: true, attempts: 2 });
    assert.deepEqual(waits, [2000]);
  });

  it("gives up rather than wait a Retry-After beyond the limit", async () => {
    slack.script({ status: 429, headers: { "retry-after": "3600" } });
    const result = await postToSlack(
      slack.url,
      { text: "x" },
      { ...options, maxRetryAfterMs: 30_000 },
    );
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.error, /HTTP 429.*too long to wait/);
  });

  it("retries 5xx with growing backoff, bounded", async () => {
    waits.length = 0;
    slack.script({ status: 500 }, { status: 503 }, { status: 502 });
    const result = await postToSlack(slack.url, { text: "x" }, { ...options, maxAttempts: 3 });
    assert.deepEqual(result, { ok: false, attempts: 3, error: "HTTP 502: error" });
    assert.equal(waits.length, 2);
    assert.ok((waits[1] ?? 0) > (waits[0] ?? 0) / 2 && (waits[1] ?? 0) <= 200);
  });

  it("does not retry a revoked webhook (4xx other than 429)", async () => {
    slack.script({ status: 404, body: "no_service" });
    const before = slack.requests.length;
    const result = await postToSlack(slack.url, { text: "x" }, options);
    assert.deepEqual(result, { ok: false, attempts: 1, error: "HTTP 404: no_service" });
    assert.equal(slack.requests.length - before, 1);
  });

  it("times out a Slack that never answers, and never puts the URL in the error", async () => {
    slack.script({ hang: true }, { hang: true });
    const result = await postToSlack(
      slack.url,
      { text: "x" },
      { ...options, timeoutMs: 200, maxAttempts: 2 },
    );
    assert.deepEqual(result, { ok: false, attempts: 2, error: "no answer within 200 ms" });
    assert.ok(!JSON.stringify(result).includes("services/T000"));
  });
});
