import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, type UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { clientConfig } from "./clients.ts";

/**
 * The document client for the state table. The endpoint comes from the SDK's standard
 * AWS_ENDPOINT_URL_DYNAMODB when set (dynalite in the sandbox), so there is no sandbox switch.
 */
export const createDocumentClient = (region: string): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig({ region })), {
    marshallOptions: { removeUndefinedValues: true },
  });

/** The expected refusal of a conditional write (a duplicate or a race), not a fault. */
export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === "ConditionalCheckFailedException";

/**
 * Sends a conditional write: true if it applied, false if its condition did not hold (the
 * expected outcome of a duplicate or a race, not an error); anything else is thrown.
 */
export const writeIf = async (
  db: DynamoDBDocumentClient,
  command: PutCommand | UpdateCommand,
): Promise<boolean> => {
  try {
    // Two branches so each send gets its own command type.
    await (command instanceof PutCommand ? db.send(command) : db.send(command));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};
