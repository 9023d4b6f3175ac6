/**
 * Errors shaped like the SDK's ServiceExceptions: what our code inspects is `name`, `$fault`,
 * `$metadata.httpStatusCode` and `$retryable`, exactly as with real responses.
 * Source: smithy-typescript `ServiceException` (packages/smithy-client/src/exceptions.ts) and the
 * retry classification that reads these fields (packages/service-error-classification/src);
 * each service's error names and HTTP statuses come from its API model (`error.code`,
 * `httpStatusCode`, `senderFault` in botocore's service-2.json).
 */
export interface AwsErrorShape {
  readonly name: string;
  readonly message?: string;
  readonly httpStatusCode?: number;
  readonly fault?: "client" | "server";
  readonly throttling?: boolean;
}

export class SandboxAwsError extends Error {
  readonly $fault: "client" | "server";
  readonly $metadata: { httpStatusCode: number; requestId: string; attempts: number };
  readonly $retryable?: { throttling: boolean };
  readonly Code: string;

  constructor(shape: AwsErrorShape) {
    super(shape.message ?? shape.name);
    this.name = shape.name;
    this.Code = shape.name;
    const status = shape.httpStatusCode ?? (shape.throttling ? 429 : 400);
    this.$fault = shape.fault ?? (status >= 500 ? "server" : "client");
    this.$metadata = { httpStatusCode: status, requestId: "sandbox", attempts: 1 };
    if (shape.throttling) this.$retryable = { throttling: true };
  }
}

export const awsError = (name: string, message: string, httpStatusCode = 400): SandboxAwsError =>
  new SandboxAwsError({ name, message, httpStatusCode });
