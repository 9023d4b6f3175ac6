/**
 * Writes schemas/awstoe-component.schema.json from the validator's zod schema:
 * `npx tsx lib/pipelines/awstoe/write-schema.ts`. A unit test fails when the committed file differs.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { componentJsonSchema, JSON_SCHEMA_PATH } from "./json-schema.ts";

writeFileSync(JSON_SCHEMA_PATH, `${JSON.stringify(componentJsonSchema(), null, 2)}\n`);
// Formatted as the repository's Biome config wants it, so `npm run lint` stays clean.
execFileSync("npx", ["biome", "format", "--write", JSON_SCHEMA_PATH], { stdio: "ignore" });
process.stdout.write(`${JSON_SCHEMA_PATH}\n`);
