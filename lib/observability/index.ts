import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type middy from "@middy/core";
import { InvalidEventError, OrchestratorError } from "../errors.ts";
import { checkEventDepth, MAX_DEPTH } from "../events/bounds.ts";
import { redactSecrets } from "../redaction/redact.ts";

/**
 * Powertools logger and metrics, configured from the standard POWERTOOLS_* variables that
 * serverless.yml sets (service name, namespace, log level). One instance per container.
 *
 * Every function logs text it did not write (Image Builder's failure reasons, Auto Scaling's
 * status messages, AWS errors quoting their input, rejected events and messages), so every string
 * of every entry, the message and nested error messages and stacks included, passes the redactor
 * that Slack and email use: one guard for every call site, present and future. Powertools calls
 * the replacer for each key and value as it serialises an entry.
 */
export const createLogger = (options: { logLevel?: "SILENT" | "INFO" | "DEBUG" } = {}): Logger =>
  new Logger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "ami-orchestrator",
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    jsonReplacerFn: (_key, value) => (typeof value === "string" ? redactSecrets(value) : value),
  });

export const createMetrics = (): Metrics =>
  new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "AmiOrchestrator",
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "ami-orchestrator",
  });

/** Where handlers send counts: Powertools metrics in Lambda, a recorder in tests. */
export interface MetricSink {
  count(name: string, dimensions?: Record<string, string>): void;
}

/** What every handler reports through: injected, so tests read what was logged and counted. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: MetricSink;
}

/** The logger and metrics a deployed handler reports through (tests inject their own). */
export const lambdaObservability = (): Observability => ({
  logger: createLogger(),
  metrics: powertoolsMetricSink(createMetrics()),
});

/**
 * Emits each count at once with its own dimensions (EMF via the log stream, no API call):
 * several counts in one invocation must not share dimensions, which Powertools' batched metrics
 * would do.
 */
export const powertoolsMetricSink = (metrics: Metrics): MetricSink => ({
  count: (name, dimensions = {}) => {
    const single = metrics.singleMetric();
    for (const [key, value] of Object.entries(dimensions)) single.addDimension(key, value);
    single.addMetric(name, MetricUnit.Count, 1);
  },
});

/**
 * Middy middleware: an invocation that throws is logged once, as structured JSON with the error,
 * its cause and (for an event we could not parse) the event itself, then rethrown so Lambda's
 * retry and on-failure destination take over. Nothing fails with only a bare stack trace.
 */
export const logFailures = (logger: Logger): middy.MiddlewareObj => ({
  onError: async (request) => {
    const error = request.error;
    if (error instanceof InvalidEventError) {
      logger.error("rejected malformed event", { error, event: error.event });
    } else if (error instanceof OrchestratorError) {
      logger.error("invocation failed", { error, retryable: error.retryable });
    } else {
      logger.error("invocation failed unexpectedly", {
        error,
        event: request.event as Record<string, unknown>,
      });
    }
  },
});

/**
 * Middy middleware, after logFailures: an invocation payload nested deeper than MAX_DEPTH is
 * refused before the handler, the logger or a schema walks it (each would recurse once per level
 * and overflow the stack), counted under `metric`, and thrown as the InvalidEventError that
 * logFailures logs with a summary instead of the event; Lambda's retries and on-failure
 * destination then take it, like any other rejected event.
 */
export const rejectDeepEvents = (
  metrics: MetricSink,
  metric: string,
  maxDepth = MAX_DEPTH,
): middy.MiddlewareObj => ({
  before: (request) => {
    try {
      checkEventDepth(request.event, "event", maxDepth);
    } catch (error) {
      metrics.count(metric);
      throw error;
    }
  },
});

/** The parts of a queue record a rejection report needs (an SQS record has them). */
export interface QueueRecord {
  readonly messageId: string;
  readonly attributes: { readonly ApproximateReceiveCount?: string };
}

/**
 * Parses a queue record's body; a body that fails (an InvalidEventError) is reported, then
 * rethrown so the record fails, is redelivered and finally dead-lettered (the DLQ's alarm alerts).
 *
 * Reported once per message, at its first receive: the verdict is a pure function of the body, so
 * the later receives before the DLQ can only repeat it, and logging each would write
 * maxReceiveCount lines and count receptions instead of messages. The line names the message id,
 * each failing field, the reason and the value (cut short: a poison body can be 256 KB), never the
 * whole body. What this loses: a message first received by an earlier version that accepted it
 * and rejected by a new one is not reported (its DLQ alarm still fires).
 */
export const parseQueueRecord = <T>(
  record: QueueRecord,
  parse: () => T,
  { logger, metrics }: Observability,
  metric: string,
): T => {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
    if (!(receiveCount > 1)) {
      const [first] = error.problems;
      metrics.count(metric);
      logger.error("rejected malformed queue message; it will reach the dead-letter queue", {
        messageId: record.messageId,
        receiveCount,
        field: first?.field,
        reason: first?.reason,
        got: first?.got,
        problems: error.problems,
        error: error.message.slice(0, 2000),
      });
    }
    throw error;
  }
};
