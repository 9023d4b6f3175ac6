import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ACTION_NAMES } from "../../../../lib/pipelines/awstoe/actions/index.ts";
import {
  componentJsonSchema,
  JSON_SCHEMA_PATH,
} from "../../../../lib/pipelines/awstoe/json-schema.ts";
import { repoPath } from "../../../helpers/fixtures.ts";

describe("the published AWSTOE JSON Schema", () => {
  it("is the one generated from the validator's zod schema (npx tsx lib/pipelines/awstoe/write-schema.ts)", () => {
    const committed = JSON.parse(readFileSync(repoPath(JSON_SCHEMA_PATH), "utf8"));
    assert.deepEqual(committed, componentJsonSchema());
  });

  it("is a draft-07 schema editors can read, with one step variant per action module", () => {
    const schema = componentJsonSchema() as {
      $schema: string;
      definitions: Record<string, unknown>;
    };
    assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
    const text = JSON.stringify(schema);
    const actions = [...text.matchAll(/"action":\{"type":"string","const":"(\w+)"\}/g)].map(
      (match) => match[1],
    );
    assert.deepEqual([...actions].sort(), [...ACTION_NAMES]);
    for (const action of ACTION_NAMES) assert.ok(`${action}Inputs` in schema.definitions, action);
  });
});
