export * from "./grants.ts";
export * from "./snapshot-keys.ts";
