import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { OrchestratorError } from "../errors.ts";

/** Invokes one of the deployment's functions and answers its result (the port the commands use). */
export type Invoke = (functionName: string, payload: Record<string, unknown>) => Promise<unknown>;

/** The function ran and threw: its error, as Lambda reported it. */
export class FunctionFailedError extends OrchestratorError {}

/**
 * A synchronous Invoke (RequestResponse, the default): the result is the response payload; a
 * function error arrives as a 200 with `FunctionError` set and the error as the payload (Lambda
 * API reference, Invoke), so it is raised here rather than printed as if it were a result.
 */
export const lambdaInvoker =
  (lambda: LambdaClient): Invoke =>
  async (functionName, payload) => {
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }),
    );
    const text = response.Payload ? new TextDecoder().decode(response.Payload) : "";
    if (response.FunctionError)
      throw new FunctionFailedError(`${functionName} failed (${response.FunctionError}): ${text}`);
    return text ? JSON.parse(text) : null;
  };
