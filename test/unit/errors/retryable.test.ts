import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KMSServiceException } from "@aws-sdk/client-kms";
import { isRetryable, OrchestratorError } from "../../../lib/errors.ts";

const awsError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(
    new KMSServiceException({
      name,
      $fault: status >= 500 ? "server" : "client",
      $metadata: { httpStatusCode: status },
    }),
    extra,
  );

describe("isRetryable: is another delivery worth it?", () => {
  it("trusts our own errors' verdict", () => {
    assert.equal(isRetryable(new OrchestratorError("race", { retryable: true })), true);
    assert.equal(isRetryable(new OrchestratorError("bad config")), false);
  });

  it("retries throttling, 5xx and 429 that outlived the SDK's own retries", () => {
    assert.equal(isRetryable(awsError("ThrottlingException", 400)), true);
    assert.equal(isRetryable(awsError("InternalFailure", 500)), true);
    assert.equal(isRetryable(awsError("SlowDown", 503)), true);
    assert.equal(isRetryable(awsError("TooManyRequests", 429)), true);
    assert.equal(
      isRetryable(awsError("Whatever", 400, { $retryable: { throttling: true } })),
      true,
    );
  });

  it("does not retry what will fail the same way: access, validation, not found", () => {
    assert.equal(isRetryable(awsError("AccessDeniedException", 400)), false);
    assert.equal(isRetryable(awsError("ValidationError", 400)), false);
    assert.equal(isRetryable(awsError("NotFoundException", 404)), false);
  });

  it("retries network failures (no HTTP response at all), not thrown non-errors", () => {
    assert.equal(
      isRetryable(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })),
      true,
    );
    assert.equal(isRetryable("a string"), false);
  });
});
