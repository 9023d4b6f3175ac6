import type { OrchestratorConfig, PipelineConfig } from "./schema.ts";

export const findPipeline = (
  config: OrchestratorConfig,
  name: string,
): PipelineConfig | undefined => config.pipelines.find((pipeline) => pipeline.name === name);

export const findPipelineByArn = (
  config: OrchestratorConfig,
  arn: string,
): PipelineConfig | undefined => config.pipelines.find((pipeline) => pipeline.arn === arn);
