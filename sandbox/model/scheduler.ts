import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** One EventBridge Scheduler schedule (API reference, GetScheduleOutput). */
export interface SandboxSchedule {
  readonly accountId: string;
  readonly region: string;
  readonly groupName: string;
  readonly name: string;
  state: "ENABLED" | "DISABLED";
  scheduleExpression: string;
  /** Absent: UTC (API reference, CreateSchedule ScheduleExpressionTimezone). */
  scheduleExpressionTimezone?: string;
  description?: string;
  flexibleTimeWindow: { Mode: "OFF" | "FLEXIBLE"; MaximumWindowInMinutes?: number };
  target: { Arn: string; RoleArn: string; Input?: string };
}

/**
 * EventBridge Scheduler: schedules per account, region and group, read with GetSchedule. A
 * schedule created without a group is in the account's `default` group (API reference,
 * CreateSchedule GroupName: "If you omit this, the default schedule group is used"), and
 * GetSchedule without GroupName looks there (GetSchedule GroupName: "If you omit this,
 * EventBridge Scheduler assumes that the schedule is associated with the default group").
 */
export class SchedulerModel {
  readonly schedules = new Map<string, SandboxSchedule>();

  constructor(private readonly now: () => number) {}

  static key(accountId: string, region: string, groupName: string, name: string): string {
    return `${accountId}|${region}|${groupName}|${name}`;
  }

  /** Schedule ARN, as the API model's ScheduleArn pattern spells it. */
  static arn(schedule: Pick<SandboxSchedule, "accountId" | "region" | "groupName" | "name">) {
    return `arn:aws:scheduler:${schedule.region}:${schedule.accountId}:schedule/${schedule.groupName}/${schedule.name}`;
  }

  readonly #created = new Map<string, number>();

  put(schedule: SandboxSchedule): SandboxSchedule {
    const key = SchedulerModel.key(
      schedule.accountId,
      schedule.region,
      schedule.groupName,
      schedule.name,
    );
    this.schedules.set(key, schedule);
    this.#created.set(key, this.now());
    return schedule;
  }

  find(accountId: string, region: string, name: string, groupName = "default") {
    return this.schedules.get(SchedulerModel.key(accountId, region, groupName, name));
  }

  readonly operations = {
    GetSchedule: (call: CallContext) => {
      const name = String(call.input.Name);
      const groupName = String(call.input.GroupName ?? "default");
      const key = SchedulerModel.key(call.accountId, call.region, groupName, name);
      const schedule = this.schedules.get(key);
      // ResourceNotFoundException (HTTP 404) is GetSchedule's error for a missing schedule (API
      // model); the message is the sandbox's own wording.
      if (!schedule)
        throw awsError("ResourceNotFoundException", `Schedule ${name} does not exist.`, 404);
      const created = new Date(this.#created.get(key) ?? this.now());
      return {
        Arn: SchedulerModel.arn(schedule),
        Name: schedule.name,
        GroupName: schedule.groupName,
        State: schedule.state,
        ScheduleExpression: schedule.scheduleExpression,
        ...(schedule.scheduleExpressionTimezone
          ? { ScheduleExpressionTimezone: schedule.scheduleExpressionTimezone }
          : {}),
        ...(schedule.description ? { Description: schedule.description } : {}),
        FlexibleTimeWindow: { ...schedule.flexibleTimeWindow },
        Target: { ...schedule.target },
        ActionAfterCompletion: "NONE",
        CreationDate: created,
        LastModificationDate: created,
      };
    },
  };
}
