export * from "./get-image.ts";
export * from "./start-pipeline.ts";
