export * from "./grants.ts";
export * from "./key-policy.ts";
export * from "./snapshot-keys.ts";
