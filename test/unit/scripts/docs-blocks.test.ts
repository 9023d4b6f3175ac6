import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BlockError, findBlocks, replaceBlocks } from "../../../scripts/docs/blocks.ts";

const doc = [
  "# Title",
  "",
  "<!-- generated:key-policy -->",
  "old statement",
  "<!-- /generated:key-policy -->",
  "",
  "text between",
  "<!-- generated:demo-summary -->",
  "```",
  "old summary",
  "```",
  "<!-- /generated:demo-summary -->",
  "end",
].join("\n");

describe("generated blocks in the docs", () => {
  it("finds each marked block with its name and its content", () => {
    const blocks = findBlocks(doc, "README.md");

    assert.deepEqual(
      blocks.map((block) => [block.name, block.content]),
      [
        ["key-policy", "old statement"],
        ["demo-summary", "```\nold summary\n```"],
      ],
    );
  });

  it("replaces only the content between the markers and keeps everything else byte for byte", () => {
    const { text, changed } = replaceBlocks(
      doc,
      { "key-policy": "new statement", "demo-summary": "```\nnew summary\n```" },
      "README.md",
    );

    assert.equal(
      text,
      doc.replace("old statement", "new statement").replace("old summary", "new summary"),
    );
    assert.deepEqual(changed, ["key-policy", "demo-summary"]);
  });

  it("reports no change when the blocks already hold what the code produces", () => {
    const { text, changed } = replaceBlocks(
      doc,
      { "key-policy": "old statement", "demo-summary": "```\nold summary\n```" },
      "README.md",
    );

    assert.equal(text, doc);
    assert.deepEqual(changed, []);
  });

  it("fills an empty block (markers on consecutive lines)", () => {
    const empty = "a\n<!-- generated:key-policy -->\n<!-- /generated:key-policy -->\nb";

    const { text } = replaceBlocks(empty, { "key-policy": "x\ny" }, "docs/a.md");

    assert.equal(text, "a\n<!-- generated:key-policy -->\nx\ny\n<!-- /generated:key-policy -->\nb");
  });

  it("the same block may appear twice, in one file, and both are filled", () => {
    const twice = `${doc}\n<!-- generated:key-policy -->\n<!-- /generated:key-policy -->\n`;

    const { text } = replaceBlocks(twice, { "key-policy": "S", "demo-summary": "D" }, "README.md");

    assert.equal(text.match(/\nS\n/g)?.length, 2);
  });

  it("refuses a block the generator does not know, naming the file, the line and the known names", () => {
    const typo = "x\n<!-- generated:key-polcy -->\n<!-- /generated:key-polcy -->\n";

    assert.throws(
      () => replaceBlocks(typo, { "key-policy": "S" }, "docs/deployment.md"),
      (error: unknown) =>
        error instanceof BlockError &&
        /docs\/deployment\.md:2: unknown generated block "key-polcy" \(known: key-policy\)/.test(
          error.message,
        ),
    );
  });

  it("refuses a block that is never closed, or closed under another name", () => {
    assert.throws(
      () => findBlocks("<!-- generated:a -->\ntext\n", "README.md"),
      /README\.md:1: block "a" is not closed/,
    );
    assert.throws(
      () => findBlocks("<!-- generated:a -->\n<!-- /generated:b -->\n", "README.md"),
      /README\.md:2: .*"b".*"a"/,
    );
  });

  it("refuses nested blocks and a closing marker with no opening one", () => {
    assert.throws(
      () =>
        findBlocks(
          "<!-- generated:a -->\n<!-- generated:b -->\n<!-- /generated:b -->\n<!-- /generated:a -->",
          "README.md",
        ),
      /README\.md:2: block "b" opens inside block "a"/,
    );
    assert.throws(() => findBlocks("<!-- /generated:a -->", "README.md"), /README\.md:1: .*"a"/);
  });

  it("ignores markers shown inside a fenced code block (a doc may explain the syntax)", () => {
    const explained = "```\n<!-- generated:key-policy -->\n```\n";

    assert.deepEqual(findBlocks(explained, "README.md"), []);
  });
});
