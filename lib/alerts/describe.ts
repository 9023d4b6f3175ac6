import { arnParts } from "../aws/arns.ts";
import {
  imageConsoleUrl,
  logStreamConsoleUrl,
  pipelineConsoleUrl,
  queueConsoleUrl,
} from "./links.ts";
import type { Alert, ComponentChanges } from "./types.ts";

/** An alert as facts, independent of the channel: Slack and email render the same story. */
export interface AlertStory {
  readonly severity: "failure" | "warning" | "info";
  readonly title: string;
  readonly facts: ReadonlyArray<readonly [string, string]>;
  /** Why it happened, in a sentence or two. */
  readonly why?: string;
  /** More lines of explanation (failures per target, what to do). */
  readonly details: readonly string[];
  /** A log excerpt, shown verbatim. */
  readonly log?: readonly string[];
  readonly links: ReadonlyArray<readonly [string, string]>;
}

const imageVersion = (imageArn: string) => imageArn.split(":image/")[1] ?? imageArn;

/** The recipe's changes since the last good image, in a line. */
const changesLine = (changes: ComponentChanges): string => {
  if (!changes.since)
    return "No earlier AVAILABLE image of this pipeline to compare the recipe with.";
  const since = `${imageVersion(changes.since)} (the last AVAILABLE image)`;
  if (changes.recipeUnknown)
    return `The recipe of ${since} could not be read: nothing to compare with.`;
  if (changes.components.length === 0)
    return `Same components as ${since}: look at the parent image or the build environment.`;
  const each = changes.components.map((change) =>
    change.from === undefined
      ? `${change.component} added (${change.to})`
      : change.to === undefined
        ? `${change.component} taken out (was ${change.from})`
        : `${change.component} ${change.from} → ${change.to}`,
  );
  return `Components changed since ${since}: ${each.join("; ")}`;
};
/** A rollout's id is its image ARN; people read `<recipe>/<version>/<build>`. */
const rolloutName = imageVersion;

/** Quotes shorter than this are left in the log: a short phrase proves nothing repeated. */
const QUOTE_MIN = 40;

/**
 * The log excerpt, with the texts the alert already shows (its why, the step's message) not
 * quoted again: a line holding one keeps what surrounds it (a timestamp, a prefix); a line one of
 * them holds whole says so. The lines stay, so the log still reads in order.
 */
const withoutQuotes = (log: readonly string[], shown: readonly string[]): string[] => {
  // The longest first: a line quoting the whole why is not left with half of it.
  const quotes = shown
    .filter((text) => text.trim().length >= QUOTE_MIN)
    .sort((a, b) => b.length - a.length);
  return log.map((line) => {
    const quote = quotes.find((text) => line.includes(text));
    if (quote) return line.replace(quote, "[quoted above]");
    const trimmed = line.trim();
    return trimmed.length >= QUOTE_MIN && quotes.some((text) => text.includes(trimmed))
      ? "[a line quoted above]"
      : line;
  });
};

export const describeAlert = (alert: Alert): AlertStory => {
  switch (alert.kind) {
    case "build-failed": {
      const { accountId, region } = arnParts(alert.imageArn);
      const diagnosis = alert.diagnosis ?? {};
      const reason = diagnosis.reason ?? alert.reason;
      const step = diagnosis.stepMessage;
      // Image Builder's reason and the failed step's message often quote each other: the fuller
      // one is the why, and the other is not repeated.
      const why =
        reason && step?.includes(reason)
          ? step
          : (reason ?? step ?? "Image Builder gave no reason");
      const logLinks: Array<[string, string]> =
        diagnosis.logGroup && diagnosis.logStream
          ? [["Build log", logStreamConsoleUrl(region, diagnosis.logGroup, diagnosis.logStream)]]
          : [];
      return {
        severity: "failure",
        title: `Image build failed: ${alert.pipeline ?? imageVersion(alert.imageArn).split("/")[0]}`,
        facts: [
          ["Pipeline", alert.pipeline ?? alert.pipelineArn ?? "unknown"],
          ["Image", imageVersion(alert.imageArn)],
          ["Account / region", `${accountId} / ${region}`],
          ["Failed step", diagnosis.failedStep ?? "unknown"],
          ...(diagnosis.commit
            ? ([
                [
                  "Commit",
                  `${diagnosis.commit.slice(0, 12)}${diagnosis.commitOf === "definitions" ? " (of the definitions)" : diagnosis.ref ? ` (${diagnosis.ref})` : ""}`,
                ],
              ] as const)
            : []),
        ],
        why,
        details: [
          ...(diagnosis.changes ? [changesLine(diagnosis.changes)] : []),
          ...(step && !why.includes(step) ? [`Step ${diagnosis.failedStep ?? ""}: ${step}`] : []),
          ...(diagnosis.unavailable?.length
            ? [`Could not look up: ${diagnosis.unavailable.join("; ")}`]
            : []),
        ],
        ...(diagnosis.logExcerpt?.length
          ? { log: withoutQuotes(diagnosis.logExcerpt, [why, reason ?? "", step ?? ""]) }
          : {}),
        links: [
          ["Image", imageConsoleUrl(alert.imageArn)],
          ...logLinks,
          ...(alert.pipelineArn
            ? ([["Pipeline", pipelineConsoleUrl(alert.pipelineArn)]] as const)
            : []),
        ],
      };
    }
    case "rollout-failed": {
      const first = alert.failures[0];
      // One line per reason, naming every place that failed with it: the same refresh error in
      // twenty groups is said once, and no reason is repeated as a "why" above the list.
      const places = new Map<string, string[]>();
      for (const f of alert.failures)
        places.set(f.reason, [
          ...(places.get(f.reason) ?? []),
          `${f.account} (${f.accountId}) ${f.region}${f.group ? ` group ${f.group}` : ""}${f.instanceRefreshId ? ` refresh ${f.instanceRefreshId}` : ""}`,
        ]);
      return {
        severity: "failure",
        title: `Rollout failed: ${alert.pipeline} ${alert.rolloutId.split("/").slice(-2).join("/")}`,
        facts: [
          ["Pipeline", alert.pipeline],
          ["Rollout", rolloutName(alert.rolloutId)],
          // The name is readable; the image ARN is what is unique (account and region).
          ["Image", alert.rolloutId],
          ["Wave", first?.wave ?? "?"],
          [
            "Where",
            alert.failures
              .map((f) => `${f.account} ${f.accountId} / ${f.region}`)
              .filter((v, i, all) => all.indexOf(v) === i)
              .join(", "),
          ],
        ],
        ...(alert.failures.length === 0 ? { why: "a target failed" } : {}),
        details: [
          ...[...places].map(([reason, where]) => `• ${where.join(", ")}: ${reason}`),
          "Later waves will not start. Fix the cause, then build again or roll back: npm run rollout -- rollback " +
            alert.pipeline,
        ],
        links: [],
      };
    }
    case "rollout-rolled-back":
      return {
        severity: alert.failedGroups.length > 0 ? "failure" : "warning",
        title: `Rollout rolled back: ${alert.pipeline} ${alert.rolloutId.split("/").slice(-2).join("/")}`,
        facts: [
          ["Pipeline", alert.pipeline],
          ["Rollout", rolloutName(alert.rolloutId)],
          ["Image", alert.rolloutId],
          ["Requested by", alert.requestedBy],
          ["Groups", String(alert.groups)],
        ],
        details:
          alert.failedGroups.length > 0
            ? [`Could not roll back: ${alert.failedGroups.join(", ")}`]
            : [],
        links: [],
      };
    case "rollout-superseded":
      return {
        severity: "info",
        title: `Rollout superseded: ${alert.pipeline}`,
        facts: [
          ["Pipeline", alert.pipeline],
          ["Superseded", rolloutName(alert.rolloutId)],
          ["By", rolloutName(alert.supersededBy)],
        ],
        why: "A newer image of the pipeline became available before this rollout finished; its pending waves will not start.",
        details: [],
        links: [],
      };
    case "pipeline-disabled": {
      const { accountId, region } = arnParts(alert.pipelineArn);
      return {
        severity: "failure",
        title: `Pipeline ${alert.automatic ? "automatically disabled" : "disabled"}: ${alert.pipeline ?? alert.pipelineArn.split("/").at(-1)}`,
        facts: [
          ["Pipeline", alert.pipeline ?? alert.pipelineArn],
          ["Account / region", `${accountId} / ${region}`],
          ...(alert.consecutiveFailures === undefined
            ? []
            : ([["Consecutive failures", String(alert.consecutiveFailures)]] as const)),
        ],
        why: alert.automatic
          ? "Image Builder disabled the pipeline after consecutive failed builds: its AMIs have stopped refreshing."
          : "A scheduled refresh found the pipeline DISABLED: its AMIs have stopped refreshing. Enable it, or remove its schedule from the config.",
        details: alert.lastFailedImageArn ? [`Last failed image: ${alert.lastFailedImageArn}`] : [],
        links: [
          ["Pipeline", pipelineConsoleUrl(alert.pipelineArn)],
          ...(alert.lastFailedImageArn
            ? ([["Last failed image", imageConsoleUrl(alert.lastFailedImageArn)]] as const)
            : []),
        ],
      };
    }
    case "launch-failed":
      return {
        severity: "failure",
        title: `Instance launch failed: ${alert.group} (${alert.accountId} / ${alert.region})`,
        facts: [
          ["Group", alert.group],
          ["Account / region", `${alert.accountId} / ${alert.region}`],
          ["Activity", alert.activityId],
          ["Cause", alert.cause],
          ...(alert.pipeline ? ([["Pipeline", alert.pipeline]] as const) : []),
        ],
        why: alert.explanation,
        details: [
          ...alert.chain.map((link) => `• ${link}`),
          ...(alert.fix ? [`Fix: ${alert.fix}`] : []),
          `Done: ${alert.action}`,
          // An unrecognised failure's explanation is Auto Scaling's message itself: said once.
          ...(alert.statusMessage && alert.explanation.includes(alert.statusMessage)
            ? []
            : [`Auto Scaling said: ${alert.statusMessage || "(nothing)"}`]),
        ],
        links: alert.consoleUrl ? [["Console", alert.consoleUrl]] : [],
      };
    case "dead-letters":
      return {
        severity: "failure",
        title: `Messages dead-lettered: ${alert.queue.split("/").at(-1)}`,
        facts: [
          ["Queue", alert.queue.split("/").at(-1) ?? alert.queue],
          ["Alarm", alert.alarm],
        ],
        why: alert.description ?? "Work failed after every retry and was set aside.",
        // The queue policies refuse a redrive into the orchestrator's queues (serverless.yml).
        details: [
          "Inspect the messages and fix the cause. A redrive into the orchestrator's queues is refused by their queue policies: act on what the messages name.",
        ],
        links: [["Queue", queueConsoleUrl(alert.queue)]],
      };
  }
};
