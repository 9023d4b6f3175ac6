import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { writeIf } from "../../aws/dynamodb.ts";

/** `SET #f0 = :v0, ...` for the fields that are defined, with their names and values. */
export const setFields = (fields: Record<string, unknown>) => {
  const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
  return {
    UpdateExpression: `SET ${entries.map((_, index) => `#f${index} = :v${index}`).join(", ")}`,
    ExpressionAttributeNames: Object.fromEntries(
      entries.map(([name], index) => [`#f${index}`, name]),
    ),
    ExpressionAttributeValues: Object.fromEntries(
      entries.map(([, value], index) => [`:v${index}`, value]),
    ) as Record<string, unknown>,
  };
};

/** Puts the item only if no item has its key; false when one had. */
export const putIfAbsent = async (
  db: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
): Promise<boolean> => {
  return writeIf(
    db,
    new PutCommand({
      TableName: table,
      Item: item,
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
};
