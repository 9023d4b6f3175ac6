import assert from "node:assert/strict";
import { Logger } from "@aws-lambda-powertools/logger";

export interface LoggedLine {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/**
 * A handler's logger and metrics that record what they were given, for tests that assert what is
 * logged and counted. A logger that is not SILENT is kept as it is (its own output is the point).
 */
export const recordingObservability = (
  logger = new Logger({ serviceName: "test", logLevel: "SILENT" }),
) => {
  const logged: LoggedLine[] = [];
  if (logger.getLevelName() === "SILENT") {
    for (const level of ["debug", "info", "warn", "error"] as const) {
      logger[level] = ((message: string, fields: Record<string, unknown> = {}) => {
        logged.push({ level, message, fields });
      }) as never;
    }
  }
  const counted: string[] = [];
  return {
    logged,
    counted,
    observability: { logger, metrics: { count: (name: string) => counted.push(name) } },
  };
};

/** The one error a rejected message is logged with (asserted to be the only one), as logged. */
export const theOnlyError = (logged: readonly LoggedLine[]): LoggedLine => {
  const errors = logged.filter((line) => line.level === "error");
  assert.equal(errors.length, 1, `one error logged, not ${errors.length}`);
  return errors[0] as LoggedLine;
};
