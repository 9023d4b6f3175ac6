import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { FunctionFailedError, lambdaInvoker } from "../../../lib/operator/invoke.ts";

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("invoking the deployment's function", () => {
  const lambda = mockClient(LambdaClient);
  afterEach(() => lambda.reset());
  const invoke = lambdaInvoker(new LambdaClient({ region: "eu-west-1" }));

  it("sends the payload as JSON to the named function and answers the result", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ ok: true }) as never });
    assert.deepEqual(await invoke("ami-orchestrator-prod-watch-rollouts", { action: "doctor" }), {
      ok: true,
    });
    const [call] = lambda.commandCalls(InvokeCommand);
    assert.equal(call?.args[0].input.FunctionName, "ami-orchestrator-prod-watch-rollouts");
    assert.equal(call?.args[0].input.Payload, '{"action":"doctor"}');
  });

  it("a function that threw (200 with FunctionError) is an error with Lambda's payload, not a result", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: "Unhandled",
      Payload: payload({
        errorType: "UnknownNameError",
        errorMessage: "no pipeline nope",
      }) as never,
    });
    await assert.rejects(invoke("fn", { action: "rollback", pipeline: "nope" }), (error: Error) => {
      assert.ok(error instanceof FunctionFailedError);
      assert.match(error.message, /^fn failed \(Unhandled\): .*no pipeline nope/);
      return true;
    });
  });
});
