import type { TargetRecord } from "../lib/rollout/store.ts";
import type { Invocation } from "./lambda-service.ts";
import type { CallRecord } from "./model/world.ts";
import type { Tone } from "./timeline.ts";

/** Rollouts are keyed by image ARN; the timeline shows `<recipe>/<version>/<build>`. */
const rolloutName = (id: unknown): string => String(id).split(":image/")[1] ?? String(id);

/** One timeline line: where it happened and what it says. */
export interface Line {
  readonly where: { account?: string; region?: string };
  readonly text: string;
  readonly tone: Tone;
}

const short = (arn: unknown) => String(arn).split("/").at(-1) ?? String(arn);

/** A mutating AWS call, in words. */
export const describeCall = (call: CallRecord): string | undefined => {
  const input = call.input as Record<string, unknown>;
  switch (`${call.service}:${call.operation}`) {
    case "kms:CreateGrant":
      return `CreateGrant on key …${short(input.KeyId).slice(-12)} for ${short(input.GranteePrincipal)} (${(input.Operations as unknown[]).length} operations, name ${String(input.Name).slice(0, 40)}…)`;
    case "ec2:CreateLaunchTemplateVersion":
      return `CreateLaunchTemplateVersion ${String(input.LaunchTemplateId)} from v${String(input.SourceVersion)}: ImageId ${String((input.LaunchTemplateData as { ImageId?: string }).ImageId)}`;
    case "ec2:ModifyLaunchTemplate":
      return `ModifyLaunchTemplate ${String(input.LaunchTemplateId)}: default version ${String(input.DefaultVersion)}`;
    case "autoscaling:StartInstanceRefresh": {
      const desired = input.DesiredConfiguration as {
        LaunchTemplate?: { Version?: string };
        MixedInstancesPolicy?: {
          LaunchTemplate?: { LaunchTemplateSpecification?: { Version?: string } };
        };
      };
      const version =
        desired.LaunchTemplate?.Version ??
        desired.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification?.Version;
      return `StartInstanceRefresh ${String(input.AutoScalingGroupName)} → template version ${version}${desired.MixedInstancesPolicy ? " (whole mixed-instances policy)" : ""}`;
    }
    case "autoscaling:UpdateAutoScalingGroup": {
      const spec = (input.LaunchTemplate ??
        (
          input.MixedInstancesPolicy as {
            LaunchTemplate?: { LaunchTemplateSpecification?: unknown };
          }
        )?.LaunchTemplate?.LaunchTemplateSpecification ??
        {}) as { Version?: string };
      return String(spec.Version).startsWith("$")
        ? `UpdateAutoScalingGroup ${String(input.AutoScalingGroupName)}: follows ${spec.Version} again`
        : `UpdateAutoScalingGroup ${String(input.AutoScalingGroupName)}: pinned to template version ${spec.Version} (auto-rollback needs a numbered version; no instance replaced)`;
    }
    case "iam:CreateServiceLinkedRole":
      return `CreateServiceLinkedRole ${String(input.AWSServiceName)}`;
    default:
      return `${call.operation}`;
  }
};

type Outcome = Record<string, unknown> & { outcome?: string; status?: string };

/** What a handler invocation did, in words, for the timeline. */
export const describeOutcome = (invocation: Invocation): Line[] => {
  if (invocation.error) return [{ where: {}, text: invocation.error.message, tone: "fail" }];
  if (invocation.functionName === "on-image-state") {
    const outcomes = (invocation.result as { outcomes?: Outcome[] }).outcomes ?? [];
    return outcomes.map((outcome) => ({
      where: {},
      text:
        outcome.outcome === "rollout-started"
          ? `rollout ${rolloutName(outcome.rolloutId)}: wave "${String(outcome.wave)}" enqueued (${String(outcome.targets)} target(s))`
          : `${String(outcome.outcome)}${outcome.rolloutId ? ` ${rolloutName(outcome.rolloutId)}` : ""}`,
      tone:
        outcome.outcome === "rollout-started"
          ? "ok"
          : outcome.outcome === "build-failed"
            ? "fail"
            : "warn",
    }));
  }
  if (invocation.functionName === "watch-rollouts") return describeWatch(invocation.result);
  if (invocation.functionName === "roll-out-target") {
    const event = invocation.event as { Records: Array<{ body: string }> };
    const failures = new Set(
      (
        (invocation.result as { batchItemFailures?: Array<{ itemIdentifier: string }> })
          .batchItemFailures ?? []
      ).map((f) => f.itemIdentifier),
    );
    return event.Records.map((record) => {
      const body = JSON.parse(record.body) as {
        accountId?: string;
        region?: string;
        attempt?: number;
      };
      const failed = failures.has((record as { messageId?: string }).messageId ?? "");
      return {
        where: { account: body.accountId ?? "", region: body.region ?? "" },
        text: failed
          ? "failed: will be retried"
          : `message processed (attempt ${body.attempt ?? 0})`,
        tone: failed ? "fail" : "info",
      };
    });
  }
  return [];
};

/** A target record's state, in one line. */
export const describeTarget = (target: TargetRecord): string => {
  const parts = [`target ${target.accountId}/${target.region} ${target.status}`];
  if (target.sharedFrom)
    parts.push(`launches ${target.amiId}, shared by ${target.sharedFrom} (launch permission)`);
  if (target.status === "waiting-for-grants" && target.grantsReadyAt)
    parts.push(
      `new grants usable from ${target.grantsReadyAt.slice(11, 19)}: the refresh waits (SQS DelaySeconds)`,
    );
  if (target.grants?.length)
    parts.push(
      `${target.grants.length} grant(s) on ${[...new Set(target.grants.map((grant) => `${grant.keyArn.split(":")[4]}'s key`))].join(", ")}`,
    );
  if (target.unsupportedGroups?.length)
    parts.push(
      `unsupported: ${target.unsupportedGroups.map((group) => `${group.name} (${group.reason.split(";")[0]})`).join(", ")}`,
    );
  if (target.reason) parts.push(target.reason);
  return parts.join(" · ");
};

interface AdvanceShape {
  rolloutId: string;
  decision: { action: string; reason?: string; until?: string; wave?: string };
  dispatchedTargets?: number;
  ended?: boolean;
}

const lastWaits = new Map<string, string>();
const TERMINAL = new Set([
  "Successful",
  "Failed",
  "Cancelled",
  "RollbackSuccessful",
  "RollbackFailed",
]);

/** What watch-rollouts decided, once per change (the same wait is not repeated every poll). */
const describeAdvance = (advance: AdvanceShape | undefined): Line[] => {
  if (!advance) return [];
  const { decision } = advance;
  switch (decision.action) {
    case "dispatch":
      return [
        {
          where: {},
          text: `wave "${decision.wave}" dispatched: ${advance.dispatchedTargets} target(s)`,
          tone: "ok",
        },
      ];
    case "succeed":
      return advance.ended
        ? [{ where: {}, text: `rollout ${rolloutName(advance.rolloutId)} succeeded`, tone: "ok" }]
        : [];
    case "fail":
      return advance.ended
        ? [
            {
              where: {},
              text: `rollout ${rolloutName(advance.rolloutId)} FAILED: later waves will not start`,
              tone: "fail",
            },
          ]
        : [];
    case "wait": {
      const text = `${decision.reason}${decision.until ? ` until ${decision.until.slice(11, 16)}` : ""}`;
      if (lastWaits.get(advance.rolloutId) === text) return [];
      lastWaits.set(advance.rolloutId, text);
      return [{ where: {}, text, tone: "info" }];
    }
    default:
      return [];
  }
};

const describeWatch = (result: unknown): Line[] => {
  const value = result as {
    outcome?: string;
    group?: string;
    refreshStatus?: string;
    advance?: AdvanceShape;
    outcomes?: Array<{
      updated: Array<{ group: string; refreshStatus: string }>;
      advance: AdvanceShape;
    }>;
    groups?: Array<{ group: string; status: string; toVersion?: number }>;
  };
  if (value.outcome === "already-recorded") {
    return [
      {
        where: {},
        text: `duplicate event for ${value.group} (${value.refreshStatus}): already recorded`,
        tone: "info",
      },
    ];
  }
  if (value.outcome === "recorded") return describeAdvance(value.advance);
  if (value.outcomes) {
    return value.outcomes.flatMap((outcome) => [
      ...outcome.updated
        .filter((update) => TERMINAL.has(update.refreshStatus))
        .map((update) => ({
          where: {},
          text: `poll: ${update.group} is ${update.refreshStatus} (no event had said so)`,
          tone: "warn" as const,
        })),
      ...describeAdvance(outcome.advance),
    ]);
  }
  return [];
};

interface SlackBlock {
  type: string;
  text?: { text: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ text: { text: string }; url: string }>;
}

/** A Block Kit message as it would read in Slack, for the terminal. */
export const formatSlackMessage = (message: unknown): string[] => {
  const blocks = ((message as { blocks?: SlackBlock[] }).blocks ?? []) as SlackBlock[];
  const plain = (text: string) =>
    text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const lines: string[] = [];
  for (const block of blocks) {
    if (block.type === "header") lines.push(`┃ ${block.text?.text ?? ""}`);
    else if (block.fields) {
      for (const field of block.fields)
        lines.push(`┃ ${plain(field.text).replace(/^\*(.+?)\*\n/, "$1: ")}`);
    } else if (block.type === "section" && block.text) {
      const text = plain(block.text.text);
      if (text.startsWith("```")) {
        lines.push(
          "┃ ```",
          ...text
            .slice(3, -3)
            .split("\n")
            .map((line) => `┃   ${line}`),
          "┃ ```",
        );
      } else
        lines.push(
          ...text
            .replace(/\*(.+?)\*/g, "$1")
            .split("\n")
            .map((line) => `┃ ${line}`),
        );
    } else if (block.type === "actions") {
      lines.push(`┃ ${(block.elements ?? []).map((button) => `[${button.text.text}]`).join(" ")}`);
    }
  }
  return lines;
};
