import { createHash } from "node:crypto";

/** JSON with object keys sorted, so equal values always hash alike. */
export const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : item,
  );

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** The hash of a value's stable JSON: what "the inputs changed" means everywhere here. */
export const hashOf = (value: unknown): string => sha256(stableJson(value));

/** A short form for names, tags and tokens: 16 hex digits (64 bits). */
export const shortHash = (hash: string): string => hash.slice(0, 16);
