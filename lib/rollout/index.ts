export * from "./advance.ts";
export * from "./dispatch.ts";
export * from "./intake.ts";
export * from "./plan.ts";
export * from "./progress.ts";
export * from "./roll-out-target.ts";
export * from "./store.ts";
