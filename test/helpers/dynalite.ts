export { type LocalDynamo, startDynamo } from "../../sandbox/dynamodb.ts";
