import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { ACTION_NAMES } from "../../../../lib/pipelines/awstoe/actions/index.ts";
import { componentDocumentSchema } from "../../../../lib/pipelines/awstoe/schema/document.ts";
import {
  type ComponentPlatform,
  validateComponentDocument,
} from "../../../../lib/pipelines/awstoe/validate.ts";
import { repoPath } from "../../../helpers/fixtures.ts";

/**
 * The corpus: documents written for this repository (none copied from AWS), valid ones that must
 * pass, and broken ones whose header lists the exact diagnostics:
 *   # refuses: <what the document gets wrong>
 *   # platform: Windows            (optional: validate for that platform)
 *   # expect: 12:9: <message>      (one line per diagnostic, in order)
 */

const folder = (kind: "valid" | "invalid") => repoPath(`test/fixtures/awstoe/${kind}`);

const corpus = (kind: "valid" | "invalid") =>
  readdirSync(folder(kind))
    .filter((name) => name.endsWith(".yml"))
    .sort()
    .map((name) => {
      const text = readFileSync(`${folder(kind)}/${name}`, "utf8");
      const header = (key: string) =>
        [...text.matchAll(new RegExp(`^# ${key}: (.*)$`, "gm"))].map((match) => match[1] ?? "");
      const platform = header("platform")[0] as ComponentPlatform | undefined;
      return {
        name,
        text,
        refuses: header("refuses")[0] ?? name,
        expected: header("expect"),
        options: platform ? { platform } : {},
      };
    });

const found = (document: ReturnType<typeof corpus>[number]) =>
  validateComponentDocument(document.text, document.name, document.options).map(
    (diagnostic) => `${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`,
  );

describe("AWSTOE component documents that are valid", () => {
  for (const document of corpus("valid")) {
    it(`accepts ${document.name}`, () => {
      assert.deepEqual(found(document), []);
    });

    it(`${document.name} also matches the published JSON Schema's zod source`, () => {
      const result = componentDocumentSchema.safeParse(parse(document.text));
      assert.ok(result.success, JSON.stringify(result.error?.issues, null, 2));
    });
  }

  it("uses every action module the AWSTOE user guide lists", () => {
    const used = new Set(
      corpus("valid").flatMap((document) =>
        [...document.text.matchAll(/^\s+action: (\w+)$/gm)].map((match) => match[1]),
      ),
    );
    assert.deepEqual(
      ACTION_NAMES.filter((action) => !used.has(action)),
      [],
      "actions no valid fixture uses",
    );
  });
});

describe("the examples of docs/awstoe-validation.md", () => {
  it("are what the validator prints for those documents of the corpus", () => {
    const doc = readFileSync(repoPath("docs/awstoe-validation.md"), "utf8");
    const examples = [
      ...doc.matchAll(/^(test\/fixtures\/awstoe\/invalid\/[\w.-]+\.yml):(\d+:\d+: .*)$/gm),
    ];
    assert.ok(examples.length >= 3, "the page shows examples");
    for (const [, file = "", expected] of examples) {
      const text = readFileSync(repoPath(file), "utf8");
      const platform = /^# platform: (\w+)$/m.exec(text)?.[1] as ComponentPlatform | undefined;
      const printed = validateComponentDocument(text, file, platform ? { platform } : {}).map(
        (diagnostic) => `${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`,
      );
      assert.ok(
        printed.includes(expected ?? ""),
        `${file}: ${expected}\nprinted:\n${printed.join("\n")}`,
      );
    }
  });
});

describe("AWSTOE component documents that are broken", () => {
  for (const document of corpus("invalid")) {
    it(`refuses ${document.refuses} (${document.name})`, () => {
      assert.ok(document.expected.length > 0, "the fixture lists its expected diagnostics");
      assert.deepEqual(found(document), document.expected);
    });
  }
});
