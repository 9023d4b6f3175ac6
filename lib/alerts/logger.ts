import { Logger } from "@aws-lambda-powertools/logger";
import { createMetrics, type Observability, powertoolsMetricSink } from "../observability/index.ts";
import { redactSecrets } from "./redact.ts";

/**
 * The alerts function logs what alerts say (reasons, Slack's answers, a rejected message), so its
 * log is one more place text leaves through: every string of every entry, the message and nested
 * error messages included, passes the same redactor as Slack and email. Powertools calls the
 * replacer for each key and value as it serialises the entry.
 */
export const redactingLogger = (options: { logLevel?: "SILENT" | "INFO" } = {}): Logger =>
  new Logger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "ami-orchestrator",
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    jsonReplacerFn: (_key, value) => (typeof value === "string" ? redactSecrets(value) : value),
  });

/** The alerts function's logger and metrics in Lambda. */
export const alertsObservability = (): Observability => ({
  logger: redactingLogger(),
  metrics: powertoolsMetricSink(createMetrics()),
});
