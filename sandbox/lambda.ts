import type { Context } from "aws-lambda";
import { currentInvocation, runInInvocation } from "./invocation.ts";

/** A Lambda context good enough for Powertools and middy, as `serverless invoke local` gives. */
export const fakeContext = (functionName: string, overrides: Partial<Context> = {}): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: "$LATEST",
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:999999999999:function:${functionName}`,
  memoryLimitInMB: "512",
  awsRequestId: `req-${Math.random().toString(16).slice(2, 10)}`,
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: "sandbox",
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
  ...overrides,
});

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** Invokes a handler the way Lambda does; returns its result or the error it threw. */
export const invoke = async <E, R>(
  handler: Handler<E, R>,
  functionName: string,
  event: E,
): Promise<{ ok: true; result: R } | { ok: false; error: Error }> => {
  try {
    // Runs as `functionName`: the sandbox checks its calls against that function's role.
    const run = () => handler(event, fakeContext(functionName));
    const result =
      currentInvocation()?.functionName === functionName
        ? await run()
        : await runInInvocation({ functionName, steps: 0, crashed: false }, run);
    return { ok: true, result };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
};
