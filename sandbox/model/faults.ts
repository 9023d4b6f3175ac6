import { type AwsErrorShape, SandboxAwsError } from "./errors.ts";

export interface CallContext {
  readonly service: string;
  readonly operation: string;
  readonly accountId: string;
  readonly region: string;
  readonly input: Record<string, unknown>;
  /** The credentials that signed the call (sandbox/identity.ts) and the function making it. */
  readonly accessKeyId?: string;
  readonly functionName?: string;
}

/** One injected fault: which calls it hits, what they get, how many times. */
export interface FaultRule {
  readonly service?: string;
  readonly operation?: string;
  readonly accountId?: string;
  readonly region?: string;
  readonly when?: (call: CallContext) => boolean;
  readonly error: AwsErrorShape;
  /** How many matching calls fail; unlimited when absent. */
  times?: number;
  /** Fail only after this many matching calls succeeded (e.g. the 2nd call). */
  after?: number;
}

/**
 * What AWS answers a throttled request: HTTP 400 with a throttling error name, which the SDK
 * retries with backoff (smithy-typescript service-error-classification THROTTLING_ERROR_CODES:
 * ThrottlingException, Throttling, RequestLimitExceeded...).
 */
export const THROTTLING: AwsErrorShape = {
  name: "ThrottlingException",
  message: "Rate exceeded",
  httpStatusCode: 400,
  throttling: true,
};

/**
 * A refusal as JSON-protocol services word it (`AccessDeniedException`, HTTP 403: e.g. KMS and
 * Image Builder API models). Calls the sandbox's IAM refuses are spelled per service instead
 * (sandbox/iam/).
 */
export const accessDenied = (action: string, resource = "*"): AwsErrorShape => ({
  name: "AccessDeniedException",
  message: `User is not authorized to perform: ${action} on resource: ${resource}`,
  httpStatusCode: 403,
});

/** Failure injection: rules are checked in order before the model handles a call. */
export class FaultInjector {
  readonly #rules: FaultRule[] = [];
  readonly #seen = new Map<FaultRule, number>();
  readonly injected: Array<CallContext & { error: string }> = [];

  add(rule: FaultRule): FaultRule {
    this.#rules.push(rule);
    return rule;
  }

  remove(rule: FaultRule): void {
    const index = this.#rules.indexOf(rule);
    if (index >= 0) this.#rules.splice(index, 1);
  }

  clear(): void {
    this.#rules.length = 0;
  }

  /** Throws the first matching rule's error, if any. */
  check(call: CallContext): void {
    for (const rule of this.#rules) {
      if (rule.service && rule.service !== call.service) continue;
      if (rule.operation && rule.operation !== call.operation) continue;
      if (rule.accountId && rule.accountId !== call.accountId) continue;
      if (rule.region && rule.region !== call.region) continue;
      if (rule.when && !rule.when(call)) continue;
      const seen = (this.#seen.get(rule) ?? 0) + 1;
      this.#seen.set(rule, seen);
      if (rule.after !== undefined && seen <= rule.after) continue;
      if (rule.times !== undefined) {
        if (rule.times <= 0) continue;
        rule.times -= 1;
      }
      this.injected.push({ ...call, error: rule.error.name });
      throw new SandboxAwsError(rule.error);
    }
  }
}
