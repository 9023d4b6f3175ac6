import { type InvocationContext, runInInvocation } from "../invocation.ts";
import { fakeContext } from "../lambda.ts";
import type { Handler } from "./types.ts";

/**
 * Crash plan: the invocation of `functionName` that makes its `afterStep`th step (AWS or
 * DynamoDB call, counted across invocations from when the plan is set) dies right after that
 * step took effect, as a Lambda killed by a timeout or an out-of-memory error would. Once.
 *
 * After a crash "Lambda resets the execution environment" (Lambda developer guide, execution
 * environment lifecycle, failures during the invoke phase): the function's next invocations run
 * in the fresh container `newContainer` gives.
 */
export class CrashPlan {
  #plan: { readonly functionName: string; readonly afterStep: number } | undefined;
  #stepsSeen = 0;
  /** Invocations that died by the crash plan. */
  readonly crashes: Array<{ functionName: string; afterStep: number }> = [];

  /** A new execution environment of a function (fresh module state), for after a crash. */
  newContainer: ((functionName: string) => Promise<Handler<never, unknown>>) | undefined;
  /** Handlers of the environments that replaced crashed ones, by function. */
  readonly #containers = new Map<string, Handler<never, unknown>>();

  crashAfterStep(functionName: string, step: number): void {
    this.#plan = { functionName, afterStep: step };
    this.#stepsSeen = 0;
  }

  /** Whether the crash plan is still waiting for its step (the run made fewer steps). */
  get pending(): boolean {
    return this.#plan !== undefined;
  }

  cancel(): void {
    this.#plan = undefined;
  }

  /**
   * Runs one invocation of the function, in its current container, as the function: its result,
   * or the error it threw, or an error saying it crashed where the plan said.
   */
  async run<E, R>(functionName: string, handler: Handler<E, R>, event: E): Promise<R> {
    const plan = this.#plan?.functionName === functionName ? this.#plan : undefined;
    let crash: (value: "crashed") => void = () => {};
    const crashed = new Promise<"crashed">((resolve) => {
      crash = resolve;
    });
    const context: InvocationContext = {
      functionName,
      steps: 0,
      crashed: false,
      ...(plan
        ? {
            crashAfterStep: plan.afterStep - this.#stepsSeen,
            onCrash: () => crash("crashed"),
          }
        : {}),
    };
    const result = await Promise.race([
      runInInvocation(context, () =>
        ((this.#containers.get(functionName) as Handler<E, R> | undefined) ?? handler)(
          event,
          fakeContext(functionName),
        ),
      ),
      crashed,
    ]);
    if (plan) this.#stepsSeen += context.steps;
    if (result === "crashed" && context.crashed) {
      this.#plan = undefined;
      this.crashes.push({ functionName, afterStep: this.#stepsSeen });
      const fresh = await this.newContainer?.(functionName);
      if (fresh) this.#containers.set(functionName, fresh);
      throw new Error(`sandbox: ${functionName} crashed after step ${context.steps}`);
    }
    return result as R;
  }
}
