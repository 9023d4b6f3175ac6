import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { clientConfig } from "./clients.ts";

/**
 * The document client for the state table. The endpoint comes from the SDK's standard
 * AWS_ENDPOINT_URL_DYNAMODB when set (dynalite in the sandbox), so there is no sandbox switch.
 */
export const createDocumentClient = (region: string): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig({ region })), {
    marshallOptions: { removeUndefinedValues: true },
  });
