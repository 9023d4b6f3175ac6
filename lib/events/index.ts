export * from "./alert-message.ts";
export * from "./image-state.ts";
export * from "./instance-refresh.ts";
export * from "./parse.ts";
export * from "./pipeline-disabled.ts";
export * from "./rollout-message.ts";
export * from "./scheduler-tick.ts";
export * from "./watch-request.ts";
