export * from "./start-pipeline.ts";
