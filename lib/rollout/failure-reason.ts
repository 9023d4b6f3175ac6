import type { RolloutFailure } from "./progress.ts";

/** Failures named in a rollout's reason; the rest are counted (every one is in its group record). */
export const REASON_SAMPLE = 10;
/** Longest reason written: one line an operator reads, whatever the number of failures. */
export const MAX_FAILURE_REASON = 2000;

const describe = (failure: RolloutFailure): string =>
  `${failure.account}/${failure.region}${failure.group ? `/${failure.group}` : ""}: ${failure.reason}`;

/**
 * Why a rollout failed, in one bounded line: the number of failures, the first few, and how many
 * more there are. Joining them all made the rollout record grow with the fleet.
 */
export const failureReason = (failures: readonly RolloutFailure[]): string => {
  const shown = failures.slice(0, REASON_SAMPLE).map(describe);
  const more = failures.length - shown.length;
  const head = failures.length > 1 ? `${failures.length} failures: ` : "";
  const tail = more > 0 ? `; and ${more} more` : "";
  const text = `${head}${shown.join("; ")}`;
  const room = MAX_FAILURE_REASON - tail.length;
  return `${text.length > room ? `${text.slice(0, room - 1)}…` : text}${tail}`;
};
