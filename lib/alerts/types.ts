import type { RolloutFailure } from "../rollout/progress.ts";

/** What a failed build's lookups found; every field is best-effort. */
export interface BuildDiagnosis {
  readonly reason?: string;
  /** The workflow step that failed, and what it said. */
  readonly failedStep?: string;
  readonly stepMessage?: string;
  readonly logGroup?: string;
  readonly logStream?: string;
  /** The last lines of the build log, secrets redacted. */
  readonly logExcerpt?: readonly string[];
  /** Lookups that failed or timed out: the alert says what it could not find out. */
  readonly unavailable?: readonly string[];
  /** The commit (and ref) the build was started for: the image's tags (build --changed). */
  readonly commit?: string;
  /** `build`: the image's own tag; `definitions`: its recipe's (the commit of the definitions). */
  readonly commitOf?: "build" | "definitions";
  readonly ref?: string;
  /** The recipe's components that changed since the pipeline's last AVAILABLE image. */
  readonly changes?: ComponentChanges;
}

/** A component of the failed image's recipe that differs from the last good image's. */
export interface ComponentChange {
  /** The component's name as its ARN spells it. */
  readonly component: string;
  /** `<version>/<build>` before (absent: added) and now (absent: taken out). */
  readonly from?: string;
  readonly to?: string;
}

export interface ComponentChanges {
  /** The last AVAILABLE image compared with; absent when the pipeline has none. */
  readonly since?: string;
  readonly components: readonly ComponentChange[];
  /** That image's recipe could not be read: nothing to compare with. */
  readonly recipeUnknown?: boolean;
}

/** Everything the orchestrator alerts on, one shape per kind. */
export type Alert =
  | {
      readonly kind: "build-failed";
      readonly imageArn: string;
      readonly pipeline?: string;
      readonly pipelineArn?: string;
      readonly reason?: string;
      readonly diagnosis?: BuildDiagnosis;
    }
  | {
      readonly kind: "rollout-failed";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly failures: readonly RolloutFailure[];
    }
  | {
      readonly kind: "rollout-rolled-back";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly requestedBy: string;
      readonly groups: number;
      readonly failedGroups: readonly string[];
    }
  | {
      readonly kind: "rollout-superseded";
      readonly rolloutId: string;
      readonly pipeline: string;
      readonly supersededBy: string;
    }
  | {
      readonly kind: "pipeline-disabled";
      readonly pipelineArn: string;
      readonly pipeline?: string;
      /** Disabled by Image Builder itself after consecutive failures, or found disabled on a schedule. */
      readonly automatic: boolean;
      readonly consecutiveFailures?: number;
      readonly lastFailedImageArn?: string;
    }
  | {
      /** A target account's group failed to launch an instance (explain-launch-failure). */
      readonly kind: "launch-failed";
      readonly accountId: string;
      readonly region: string;
      readonly group: string;
      /** The failing launch's scaling activity (the first of the episode). */
      readonly activityId: string;
      /** When the episode began: a recurrence after a success is a new alert. */
      readonly since: string;
      readonly cause: string;
      readonly explanation: string;
      readonly fix?: string;
      readonly consoleUrl?: string;
      readonly chain: readonly string[];
      /** Auto Scaling's StatusMessage, verbatim. */
      readonly statusMessage: string;
      /** What the orchestrator did about it (healed, or why not). */
      readonly action: string;
      readonly pipeline?: string;
    }
  | {
      readonly kind: "dead-letters";
      readonly queue: string;
      readonly alarm: string;
      readonly description?: string;
    };

export type AlertKind = Alert["kind"];

/** One alert per (subject, kind): duplicate notifications of the same failure post once. */
export const alertKey = (alert: Alert): string => {
  switch (alert.kind) {
    case "build-failed":
      return `${alert.kind}#${alert.imageArn}`;
    case "rollout-failed":
    case "rollout-rolled-back":
    case "rollout-superseded":
      return `${alert.kind}#${alert.rolloutId}`;
    case "pipeline-disabled":
      return `${alert.kind}#${alert.pipelineArn}#${alert.lastFailedImageArn ?? (alert.automatic ? "auto" : "found")}`;
    case "launch-failed":
      return `${alert.kind}#${alert.accountId}#${alert.region}#${alert.group}#${alert.cause}#${alert.since}`;
    case "dead-letters":
      return `${alert.kind}#${alert.queue}`;
  }
};
