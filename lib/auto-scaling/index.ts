export * from "./groups.ts";
export * from "./instance-refresh.ts";
export * from "./service-linked-role.ts";
