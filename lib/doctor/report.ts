/**
 * `npm run doctor`: for every pipeline, wave, target account and region, would a rollout of the
 * pipeline's latest AVAILABLE image succeed now? Every call is a Describe/List/Get or a DryRun:
 * the doctor never changes anything (the sandbox counts its mutating calls: zero).
 */

export interface DoctorCheck {
  /** What was checked, e.g. "assume role", "group web", "grant <key> → <role>". */
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** On failure, exactly what to do. */
  readonly fix?: string;
}

export interface TargetReport {
  readonly wave: string;
  readonly account: string;
  readonly accountId: string;
  readonly region: string;
  readonly checks: readonly DoctorCheck[];
}

export interface PipelineReport {
  readonly pipeline: string;
  /** The image the AMI checks are about: the pipeline's latest AVAILABLE one. */
  readonly imageArn?: string;
  readonly checks: readonly DoctorCheck[];
  readonly targets: readonly TargetReport[];
}

export interface DoctorReport {
  /** The orchestrator's own side: its schedules, subscriptions, rules and Slack parameter. */
  readonly orchestrator: readonly DoctorCheck[];
  readonly pipelines: readonly PipelineReport[];
  readonly passed: number;
  readonly failed: number;
  readonly ok: boolean;
}

export const pass = (check: string, detail: string): DoctorCheck => ({ check, ok: true, detail });
export const fail = (check: string, detail: string, fix: string): DoctorCheck => ({
  check,
  ok: false,
  detail,
  fix,
});
