import type { TargetStatus } from "../store/index.ts";
import {
  ACTIVE_REFRESH_RETRY_SECONDS,
  CANCELLING_REFRESH_RETRY_SECONDS,
  type Requeue,
} from "./context.ts";
import type { GroupOutcome, GroupStepResult } from "./refresh-group.ts";

/**
 * The last step of a target: from its groups' results, what becomes of it. A transient error in
 * any group retries the whole delivery (the groups done are recorded and not redone); a group
 * waiting for another refresh makes the target wait; otherwise the target's status follows from
 * how many groups failed.
 */

export type TargetVerdict =
  | { readonly kind: "retry"; readonly message: string; readonly cause: unknown }
  | { readonly kind: "wait"; readonly requeue: Requeue }
  | { readonly kind: "done"; readonly status: TargetStatus; readonly reason?: string };

export const judgeTarget = (results: readonly GroupStepResult[]): TargetVerdict => {
  const retry = results.filter((result) => result.status === "retry");
  if (retry.length > 0) {
    return {
      kind: "retry",
      message: `${retry.length} group(s) hit a transient error: ${retry.map((result) => `${result.group}: ${result.reason}`).join("; ")}`,
      cause: retry[0]?.error,
    };
  }
  if (results.some((result) => result.status === "waiting")) {
    const cancelling = results.some((result) => result.waitingFor === "cancelling-active-refresh");
    return {
      kind: "wait",
      requeue: {
        targetStatus: "waiting-for-refresh",
        countsAsAttempt: true,
        delaySeconds: cancelling ? CANCELLING_REFRESH_RETRY_SECONDS : ACTIVE_REFRESH_RETRY_SECONDS,
        reason: "waiting for another instance refresh to end",
      },
    };
  }
  const failed = results.filter((result) => result.status === "failed");
  const status: TargetStatus =
    failed.length === results.length
      ? "failed"
      : failed.length > 0
        ? "partially-failed"
        : results.some((result) => result.status === "refresh-started")
          ? "refreshing"
          : "up-to-date";
  return failed.length > 0
    ? {
        kind: "done",
        status,
        reason: failed.map((result) => `${result.group}: ${result.reason}`).join("; "),
      }
    : { kind: "done", status };
};

/** What the target's outcome tells of each group (not the whole record). */
export const groupOutcomes = (results: readonly GroupStepResult[]): GroupOutcome[] =>
  results.map(({ group, status, instanceRefreshId, previousVersion, newVersion, reason }) => ({
    group,
    status,
    ...(instanceRefreshId ? { instanceRefreshId } : {}),
    ...(previousVersion === undefined ? {} : { previousVersion }),
    ...(newVersion === undefined ? {} : { newVersion }),
    ...(reason ? { reason } : {}),
  }));
