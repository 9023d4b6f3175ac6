/**
 * One base class for every error the orchestrator raises on purpose, so handlers can tell
 * "we understood what went wrong" (log it with context, route it) from an unexpected crash.
 */
export class OrchestratorError extends Error {
  /** Whether retrying the same input can succeed (throttling, a race), as opposed to bad input. */
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }
}

/** The configuration file is missing, unreadable or invalid. */
export class ConfigError extends OrchestratorError {}

/** One field of an event that failed its schema: where, why, and what it held. */
export interface EventProblem {
  readonly field: string;
  readonly reason: string;
  /** The value found, JSON, cut to 120 characters; absent when the field was missing. */
  readonly got?: string;
}

/** An incoming event does not have the shape of any trigger we accept. */
export class InvalidEventError extends OrchestratorError {
  readonly event: unknown;
  /** Each failing field, for logs and metrics that must name it (empty when not schema-checked). */
  readonly problems: readonly EventProblem[];

  constructor(
    message: string,
    event: unknown,
    options: { cause?: unknown; problems?: readonly EventProblem[] } = {},
  ) {
    super(message, options);
    this.event = event;
    this.problems = options.problems ?? [];
  }
}

/** A required environment variable is missing: a deployment problem, reported at cold start. */
export class EnvironmentError extends OrchestratorError {}

/** A name (pipeline, account alias) that the configuration does not declare. */
export class UnknownNameError extends OrchestratorError {}

/** The error's name as the SDK sets it (its modelled exception), or "" for a non-Error. */
export const errorName = (error: unknown): string => (error instanceof Error ? error.name : "");

/** Message of any thrown value, for logs and results. */
export const errorMessage = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** HTTP statuses and error names the SDK itself treats as transient or throttling. */
const TRANSIENT_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "ProvisionedThroughputExceededException",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  // Expired credentials: target clients assume the role again (lib/aws/credentials.ts); if the
  // retried call still meets them, the next delivery will not.
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
]);

/**
 * Whether the same input can succeed later. Our own errors say so explicitly; for AWS errors
 * (which reach us only after the SDK's own retries gave up) throttling, 5xx and network failures
 * are worth another delivery, while a 4xx such as AccessDenied or a validation error is not.
 */
export const isRetryable = (error: unknown): boolean => {
  if (error instanceof OrchestratorError) return error.retryable;
  if (!(error instanceof Error)) return false;
  const aws = error as Error & {
    $retryable?: unknown;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (aws.$retryable || TRANSIENT_NAMES.has(aws.name)) return true;
  const status = aws.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP response at all: a network error or a timeout.
  return aws.$fault === undefined;
};
