/**
 * Counts the DynamoDB items the functions read and write, for the rollout bench. dynalite does not
 * report consumed capacity the way DynamoDB bills it, so the meter counts items instead, from the
 * requests (marshalled) and responses of every DynamoDB client the handlers build.
 */
import * as dynamodb from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { FinalizeHandlerArguments, HandlerExecutionContext } from "@smithy/types";
import { currentInvocation, type InvocationContext } from "../sandbox/invocation.ts";

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/**
 * An attribute value's size as DynamoDB counts it (developer guide, "DynamoDB item sizes and
 * formats"): a string's UTF-8 bytes; a number 1 byte per two significant digits plus 1; a
 * binary its raw bytes; null and booleans 1 byte; a list or map 3 bytes plus 1 byte per element
 * plus its elements (and a map's names); a set the sum of its members. Numbers are approximate,
 * as the guide says they are.
 */
const valueSize = (value: AttributeValue): number => {
  const [type, content] = Object.entries(value)[0] ?? [];
  switch (type) {
    case "S":
      return utf8(content as string);
    case "N":
      return numberSize(content as string);
    case "B":
      return (content as Uint8Array).byteLength;
    case "BOOL":
    case "NULL":
      return 1;
    case "SS":
      return (content as string[]).reduce((sum, member) => sum + utf8(member), 0);
    case "NS":
      return (content as string[]).reduce((sum, member) => sum + numberSize(member), 0);
    case "BS":
      return (content as Uint8Array[]).reduce((sum, member) => sum + member.byteLength, 0);
    case "L":
      return (content as AttributeValue[]).reduce((sum, member) => sum + 1 + valueSize(member), 3);
    case "M":
      return Object.entries(content as Item).reduce(
        (sum, [name, member]) => sum + 1 + utf8(name) + valueSize(member),
        3,
      );
    default:
      return 0;
  }
};

const numberSize = (text: string) => {
  const digits = text.replace(/^-/, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(digits.length / 2) + 1;
};

/** An item's size: the sum of its attribute names and values (same source as valueSize). */
export const itemSize = (item: Item): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);

/** The error names DynamoDB and the SDK treat as throttling (smithy THROTTLING_ERROR_CODES). */
const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "Throttling",
]);

export interface DynamoMeter {
  /** Items returned by GetItem, BatchGetItem and TransactGetItems; items scanned by Query and Scan. */
  itemsRead: number;
  /** Items put, updated or deleted (conditional writes that failed their condition excluded). */
  itemsWritten: number;
  /** The largest item sent by a put (updates: see largestItemInTable). */
  largestPutBytes: number;
  /** Requests DynamoDB refused with a throttling error. */
  throttled: number;
  /** Requests, by operation. */
  readonly requests: Record<string, number>;
  /**
   * Per function, the most one invocation did: items read, and steps (its AWS and DynamoDB calls,
   * sandbox/invocation.ts). Whether every Lambda stays inside its timeout at fleet size depends
   * on these, not on the totals.
   */
  readonly heaviest: Record<string, { itemsRead: number; steps: number }>;
}

const counts = (output: Record<string, unknown>, input: Record<string, unknown>) => {
  const sumTables = (tables: unknown) =>
    Object.values((tables ?? {}) as Record<string, unknown[]>).reduce(
      (sum, items) => sum + items.length,
      0,
    );
  switch (input.$operation) {
    case "GetItem":
      return { read: output.Item ? 1 : 0, written: 0 };
    case "Query":
    case "Scan":
      // ScannedCount: what DynamoDB read (and bills) before any filter.
      return { read: Number(output.ScannedCount ?? output.Count ?? 0), written: 0 };
    case "BatchGetItem":
      return { read: sumTables(output.Responses), written: 0 };
    case "TransactGetItems":
      return {
        read: ((output.Responses ?? []) as Array<{ Item?: unknown }>).filter((r) => r.Item).length,
        written: 0,
      };
    case "PutItem":
    case "UpdateItem":
    case "DeleteItem":
      return { read: 0, written: 1 };
    case "BatchWriteItem":
      return {
        read: 0,
        written: sumTables(input.RequestItems) - sumTables(output.UnprocessedItems),
      };
    case "TransactWriteItems":
      return {
        read: 0,
        written: ((input.TransactItems ?? []) as Array<Record<string, unknown>>).filter(
          (item) => !item.ConditionCheck,
        ).length,
      };
    default:
      return { read: 0, written: 0 };
  }
};

const putItems = (operation: string, input: Record<string, unknown>): Item[] => {
  if (operation === "PutItem") return [input.Item as Item];
  if (operation === "BatchWriteItem")
    return Object.values(
      (input.RequestItems ?? {}) as Record<string, Array<{ PutRequest?: { Item: Item } }>>,
    ).flatMap((requests) =>
      requests.flatMap((request): Item[] => (request.PutRequest ? [request.PutRequest.Item] : [])),
    );
  if (operation === "TransactWriteItems")
    return ((input.TransactItems ?? []) as Array<{ Put?: { Item: Item } }>).flatMap(
      (item): Item[] => (item.Put ? [item.Put.Item] : []),
    );
  return [];
};

/**
 * Installs the meter on every DynamoDB client (and document client, which shares its client's
 * middleware stack), after the sandbox's own interception. Only calls made inside a function's
 * invocation count: the bench's own reads do not. Returns the live counters and an uninstall.
 */
export const installDynamoMeter = (): { meter: DynamoMeter; uninstall(): void } => {
  const meter: DynamoMeter = {
    itemsRead: 0,
    itemsWritten: 0,
    largestPutBytes: 0,
    throttled: 0,
    requests: {},
    heaviest: {},
  };
  const readBy = new WeakMap<InvocationContext, number>();
  const wired = new WeakSet<object>();
  type Send = (this: unknown, ...args: unknown[]) => Promise<unknown>;
  type Stack = { middlewareStack: { add: (...args: unknown[]) => void } };
  const restores: Array<() => void> = [];
  for (const clientClass of [dynamodb.DynamoDBClient, DynamoDBDocumentClient]) {
    const prototype = clientClass.prototype as unknown as { send: Send };
    const own = Object.getOwnPropertyDescriptor(prototype, "send");
    const previous = prototype.send;
    Object.defineProperty(prototype, "send", {
      configurable: true,
      writable: true,
      value: function send(this: Stack, ...args: unknown[]) {
        if (!wired.has(this.middlewareStack)) {
          wired.add(this.middlewareStack);
          this.middlewareStack.add(
            (
              next: (request: FinalizeHandlerArguments<object>) => Promise<unknown>,
              context: HandlerExecutionContext,
            ) =>
              async (request: FinalizeHandlerArguments<object>) => {
                const invocation = currentInvocation();
                if (!invocation) return next(request);
                const operation = String(
                  (context as { commandName?: string }).commandName ?? "",
                ).replace(/Command$/, "");
                const input = request.input as Record<string, unknown>;
                meter.requests[operation] = (meter.requests[operation] ?? 0) + 1;
                let result: { output?: Record<string, unknown> };
                try {
                  result = (await next(request)) as { output?: Record<string, unknown> };
                } catch (error) {
                  if (THROTTLING.has((error as Error).name)) meter.throttled += 1;
                  throw error;
                }
                const counted = counts(result.output ?? {}, { ...input, $operation: operation });
                meter.itemsRead += counted.read;
                const read = (readBy.get(invocation) ?? 0) + counted.read;
                readBy.set(invocation, read);
                const heaviest = meter.heaviest[invocation.functionName] ?? {
                  itemsRead: 0,
                  steps: 0,
                };
                meter.heaviest[invocation.functionName] = heaviest;
                heaviest.itemsRead = Math.max(heaviest.itemsRead, read);
                heaviest.steps = Math.max(heaviest.steps, invocation.steps + 1);
                meter.itemsWritten += counted.written;
                for (const item of putItems(operation, input))
                  meter.largestPutBytes = Math.max(meter.largestPutBytes, itemSize(item));
                return result;
              },
            // Where the sandbox sends the request: the input is marshalled by then; the output
            // may be unmarshalled (document client), which counting does not mind.
            { step: "deserialize", priority: "high", name: "bench-dynamo-meter" },
          );
        }
        return previous.apply(this, args);
      },
    });
    restores.push(() => {
      if (own) Object.defineProperty(prototype, "send", own);
      else delete (prototype as { send?: Send }).send;
    });
  }
  return {
    meter,
    uninstall: () => {
      for (const restore of restores) restore();
    },
  };
};

/** The largest item in the table now, read outside any invocation (so the meter ignores it). */
export const largestItemInTable = async (
  client: dynamodb.DynamoDBClient,
  table: string,
): Promise<number> => {
  let largest = 0;
  let start: Item | undefined;
  do {
    const page: dynamodb.ScanCommandOutput = await client.send(
      new dynamodb.ScanCommand({ TableName: table, ExclusiveStartKey: start as never }),
    );
    for (const item of page.Items ?? [])
      largest = Math.max(largest, itemSize(item as unknown as Item));
    start = page.LastEvaluatedKey as Item | undefined;
  } while (start);
  return largest;
};
