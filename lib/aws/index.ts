export * from "./clients.ts";
export * from "./clock.ts";
export * from "./credentials.ts";
export * from "./env.ts";
export * from "./target-clients.ts";
