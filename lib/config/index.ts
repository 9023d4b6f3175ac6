export * from "./cron.ts";
export * from "./freeze-windows.ts";
export * from "./load.ts";
export * from "./schema.ts";
export * from "./time-zones.ts";
