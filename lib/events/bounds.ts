import { InvalidEventError } from "../errors.ts";

/**
 * Bounds on untrusted input, checked before it is parsed, validated or logged: JSON.stringify,
 * the logger and recursive validation all recurse once per level, so a message nested tens of
 * thousands of levels deep overflows the stack (a RangeError, with nothing logged) wherever it is
 * first serialised.
 */

/**
 * Nesting depth accepted in any event or message. Every event we handle is at most about 8
 * levels deep (an Image Builder SNS message: distributionConfiguration.distributions[].
 * amiDistributionConfiguration.launchPermission.userIds[]); 64 leaves room for anything AWS
 * might add and stays far below what overflows the stack.
 */
export const MAX_DEPTH = 64;

/**
 * Largest message text AWS can deliver to us, in UTF-8 bytes: an SQS message body is at most
 * 1 MiB (AWS-FACTS section 11), and an SNS message 256 KiB by default, 1 MiB on a topic whose
 * MaximumMessageSize is raised (SNS developer guide, "Publishing large messages",
 * large-message-payloads). Anything longer was not delivered by either.
 */
export const MAX_MESSAGE_BYTES = 1_048_576;

const OPEN = new Set(["[", "{"]);
const CLOSE = new Set(["]", "}"]);

/**
 * The deepest bracket nesting of a JSON text, counted outside strings, stopping as soon as it
 * passes `limit`: one linear pass, no recursion, whatever the text holds.
 */
export const jsonTextDepth = (text: string, limit = MAX_DEPTH): number => {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index] as string;
    if (inString) {
      if (char === "\\") index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (OPEN.has(char)) {
      depth += 1;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (CLOSE.has(char)) depth -= 1;
  }
  return deepest;
};

/**
 * The nesting depth of a parsed value (the payload Lambda hands a handler), walked with an
 * explicit stack and stopping as soon as it passes `limit`: a scalar is 0, `{}` or `[]` is 1.
 */
export const valueDepth = (value: unknown, limit = MAX_DEPTH): number => {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop() as [unknown, number];
    if (node === null || typeof node !== "object") continue;
    if (depth > deepest) {
      deepest = depth;
      if (deepest > limit) return deepest;
    }
    for (const child of Object.values(node)) {
      if (child !== null && typeof child === "object") pending.push([child, depth + 1]);
    }
  }
  return deepest;
};

/** What a rejection keeps of an oversized value: never the value itself, which cannot be logged. */
const summary = (value: unknown): Record<string, unknown> => {
  if (typeof value === "string") return { length: value.length, start: value.slice(0, 120) };
  if (Array.isArray(value)) return { arrayLength: value.length };
  if (value === null || typeof value !== "object") return { value: String(value).slice(0, 120) };
  const record = value as Record<string, unknown>;
  // The envelope fields that say where an event came from, when they are plain strings.
  const envelope = Object.fromEntries(
    ["id", "source", "detail-type", "account", "region", "time", "action"]
      .filter((key) => typeof record[key] === "string")
      .map((key) => [key, String(record[key]).slice(0, 200)]),
  );
  return { ...envelope, keys: Object.keys(record).slice(0, 20) };
};

/**
 * Refuses a JSON text (an SNS message, an SQS body) that AWS could not have delivered or that
 * could not be handled safely: longer than MAX_MESSAGE_BYTES, or nested deeper than MAX_DEPTH.
 * Throws the InvalidEventError every rejection path already logs, counts and dead-letters.
 */
export const checkJsonText = (text: string, kind: string, field: string): void => {
  // UTF-16 code units are at most 3 UTF-8 bytes each: only a long text needs counting.
  if (text.length * 3 > MAX_MESSAGE_BYTES) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_MESSAGE_BYTES) {
      const reason = `larger than ${MAX_MESSAGE_BYTES} bytes (${bytes}), more than AWS delivers`;
      throw new InvalidEventError(`not a valid ${kind}: ${field}: ${reason}`, summary(text), {
        problems: [{ field, reason }],
      });
    }
  }
  const depth = jsonTextDepth(text);
  if (depth > MAX_DEPTH) {
    const reason = `nested deeper than ${MAX_DEPTH} levels`;
    throw new InvalidEventError(`not a valid ${kind}: ${field}: ${reason}`, summary(text), {
      problems: [{ field, reason }],
    });
  }
};

/** Refuses an already-parsed event nested deeper than MAX_DEPTH, before anything walks it. */
export const checkEventDepth = (event: unknown, kind: string, maxDepth = MAX_DEPTH): void => {
  if (valueDepth(event, maxDepth) > maxDepth) {
    const reason = `nested deeper than ${maxDepth} levels`;
    throw new InvalidEventError(`not a valid ${kind}: ${reason}`, summary(event), {
      problems: [{ field: "<event>", reason }],
    });
  }
};
