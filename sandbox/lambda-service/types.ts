import type { Context } from "aws-lambda";

export type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** One invocation of a function by the sandbox's Lambda service, as it is recorded. */
export interface Invocation {
  readonly functionName: string;
  readonly at: number;
  readonly event: unknown;
  readonly result?: unknown;
  readonly error?: Error;
}
