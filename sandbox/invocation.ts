import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The Lambda invocation a call is made from: which function (so the sandbox knows the role that
 * makes each call) and, for crash tests, how many steps (AWS and DynamoDB calls) it has made.
 *
 * A crash is modelled as Lambda sees one: the invocation dies right after a step took effect in
 * AWS, before its response reaches the code. Nothing after it runs; the whole batch goes back to
 * the queue. That is the only honest way to test "a redelivery resumes where the last one
 * stopped": the code never gets to catch or record anything.
 */
export interface InvocationContext {
  readonly functionName: string;
  /** Steps (successful AWS or DynamoDB calls) made so far. */
  steps: number;
  /** Die right after this step took effect (1-based); undefined: never. */
  readonly crashAfterStep?: number;
  /** Called once when the invocation dies. */
  readonly onCrash?: () => void;
  crashed: boolean;
}

const storage = new AsyncLocalStorage<InvocationContext>();

export const runInInvocation = <T>(context: InvocationContext, run: () => Promise<T>): Promise<T> =>
  storage.run(context, run);

export const currentInvocation = (): InvocationContext | undefined => storage.getStore();

/** The name of the function whose invocation makes the current call, if any. */
export const currentFunctionName = (): string | undefined => storage.getStore()?.functionName;

const NEVER: Promise<never> = new Promise<never>(() => {});

/**
 * Counts a step that just took effect. Returns a promise that never settles when the invocation
 * has died (at this step or before), so the code that made the call never continues.
 */
export const afterStep = (): Promise<never> | undefined => {
  const context = storage.getStore();
  if (!context) return undefined;
  if (context.crashed) return NEVER;
  context.steps += 1;
  if (context.crashAfterStep !== undefined && context.steps >= context.crashAfterStep) {
    context.crashed = true;
    context.onCrash?.();
    return NEVER;
  }
  return undefined;
};

/** A call attempted after the invocation died never leaves it. */
export const beforeStep = (): Promise<never> | undefined =>
  storage.getStore()?.crashed ? NEVER : undefined;
