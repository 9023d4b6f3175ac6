import { z } from "zod";
import { pipelineDefinitionSchema } from "./definition-schema.ts";

/** Where the published schema lives, from the repository root. */
export const PIPELINE_SCHEMA_FILE = "schemas/pipeline.schema.json";

/**
 * The JSON Schema of pipeline.yml, generated from the zod schema that validates it, for
 * editors (`# yaml-language-server: $schema=../../schemas/pipeline.schema.json`). Cross-field
 * rules (versions, counts, sizes) are checked by `npm run pipelines -- validate` only.
 */
export const pipelineJsonSchema = (): Record<string, unknown> => ({
  ...z.toJSONSchema(pipelineDefinitionSchema, { io: "input", unrepresentable: "any" }),
  title: "ami-orchestrator image pipeline (pipelines/<folder>/pipeline.yml)",
});

export const pipelineJsonSchemaText = (): string =>
  `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`;
