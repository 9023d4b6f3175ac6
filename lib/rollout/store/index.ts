import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { activeOperations } from "./active.ts";
import { grantOperations } from "./grants.ts";
import { groupOperations } from "./groups.ts";
import { pipelineOperations } from "./pipeline-index.ts";
import { refreshOperations } from "./refresh-index.ts";
import { rolloutOperations } from "./rollouts.ts";
import { stateOperations } from "./state.ts";
import { targetOperations } from "./targets.ts";

/**
 * The rollout store: rollout state in the single DynamoDB table (keys.ts lists every record kind),
 * one file per kind. `createRolloutStore(db, table)` binds the table once and groups the
 * operations by the records they touch:
 *
 *   store.rollouts   the rollout record: create, get, load (with its targets and groups), waves, finish
 *   store.targets    one target's record: get, update, pages of a rollout's targets
 *   store.groups     a target's group records: list, put, the refresh's outcome, settle, rollback
 *   store.active     the rollouts not finished yet, and where the poll stopped in each
 *   store.pipelines  a pipeline's rollouts by image version, and names resolved to ids
 *   store.refreshes  which rollout and group an instance refresh belongs to
 *   store.grants     when a KMS grant was first seen
 *
 * Every item read is checked against its kind's schema (item-check.ts): a malformed one is
 * refused with its key and the field, never cast. The same operations are exported as functions
 * taking `(db, table, …)` for callers that make one call.
 */
export const createRolloutStore = (db: DynamoDBDocumentClient, table: string) => ({
  rollouts: { ...rolloutOperations(db, table), ...stateOperations(db, table) },
  targets: targetOperations(db, table),
  groups: groupOperations(db, table),
  active: activeOperations(db, table),
  pipelines: pipelineOperations(db, table),
  refreshes: refreshOperations(db, table),
  grants: grantOperations(db, table),
});

export type RolloutStore = ReturnType<typeof createRolloutStore>;

export * from "./active.ts";
export * from "./grants.ts";
export * from "./groups.ts";
export { MalformedItemError } from "./item-check.ts";
export * from "./keys.ts";
export * from "./pipeline-index.ts";
export * from "./refresh-index.ts";
export * from "./rollouts.ts";
export * from "./state.ts";
export * from "./targets.ts";
