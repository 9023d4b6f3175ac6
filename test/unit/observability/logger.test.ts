import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../../lib/observability/index.ts";

/** A logger from createLogger, printing into an array as Lambda would ship lines to CloudWatch. */
const printedBy = (log: (logger: ReturnType<typeof createLogger>) => void): string => {
  const lines: string[] = [];
  const logger = createLogger({ logLevel: "DEBUG" });
  const print = (line: string) => lines.push(line);
  (logger as unknown as { console: unknown }).console = {
    debug: print,
    info: print,
    warn: print,
    error: print,
    log: print,
    trace: print,
  };
  log(logger);
  return lines.join("\n");
};

describe("every function's logger redacts what it prints", () => {
  it("the message, every field at any depth, and errors with their causes and stacks", () => {
    const cause = new Error("upstream said password=hunter2");
    const printed = printedBy((logger) => {
      logger.error("image build failed: token=abc123XYZ", {
        reason:
          "Step failed: export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        event: { detail: { StatusReason: ["docker login -p s3cr3tT0ken reg.example.com"] } },
        error: new Error("redis://:redisPass1@cache:6379 refused", { cause }),
      });
      logger.debug("pass\u200bword=zeroWidth1");
    });
    for (const secret of [
      "hunter2",
      "abc123XYZ",
      "wJalrXUtnFEMI",
      "s3cr3tT0ken",
      "redisPass1",
      "zeroWidth1",
    ]) {
      assert.ok(!printed.includes(secret), `${secret} printed: ${printed}`);
    }
    assert.match(printed, /"message":"image build failed: token=\*\*\*\*"/);
    assert.match(printed, /docker login -p \*\*\*\* reg\.example\.com/);
  });

  it("leaves what we wrote, numbers and ids as they are", () => {
    const printed = printedBy((logger) =>
      logger.info("rollout-started", {
        imageArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image/web-ubuntu2404/2.0.3/12",
        targets: 3,
        ok: true,
      }),
    );
    const line = JSON.parse(printed) as Record<string, unknown>;
    assert.equal(
      line.imageArn,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image/web-ubuntu2404/2.0.3/12",
    );
    assert.equal(line.targets, 3);
    assert.equal(line.ok, true);
  });
});
