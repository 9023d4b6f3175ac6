export * from "./plan.ts";
export * from "./store.ts";
