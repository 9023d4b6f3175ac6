import { after, before } from "node:test";
import { type LocalDynamo, startDynamo } from "../../sandbox/dynamodb.ts";
import { snapshotEnv } from "./env.ts";

export { type LocalDynamo, startDynamo } from "../../sandbox/dynamodb.ts";

/**
 * A real local DynamoDB (dynalite) with the orchestrator's table for the suite it is called in:
 * started before its tests (then `setUp`, e.g. to add middleware to its clients), closed after
 * them, and process.env as it was. Read its members inside hooks and tests only.
 */
export const localDynamoSuite = (setUp?: (dynamo: LocalDynamo) => void): LocalDynamo => {
  let dynamo: LocalDynamo | undefined;
  let restoreEnv: (() => void) | undefined;
  before(async () => {
    restoreEnv = snapshotEnv();
    dynamo = await startDynamo();
    setUp?.(dynamo);
  });
  after(async () => {
    await dynamo?.close();
    restoreEnv?.();
  });
  const started = (): LocalDynamo => {
    if (!dynamo) throw new Error("the local DynamoDB starts in the suite's before hook");
    return dynamo;
  };
  return {
    get endpoint() {
      return started().endpoint;
    },
    get table() {
      return started().table;
    },
    get client() {
      return started().client;
    },
    get db() {
      return started().db;
    },
    close: () => started().close(),
  };
};
