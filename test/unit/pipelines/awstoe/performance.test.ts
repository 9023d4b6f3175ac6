import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateComponentDocument } from "../../../../lib/pipelines/awstoe/validate.ts";

/**
 * Validation stays linear in the size of the document: the bounds compare documents with each
 * other, not with the clock, so a slow machine does not fail them but a quadratic pass does.
 */

const header = `name: generated
description: A generated component document
schemaVersion: 1.0
constants:
  - Prefix:
      type: string
      value: /opt/generated
phases:
  - name: build
    steps:
`;

/** A step that chains from the one before it, loops, and runs under a condition. */
const step = (index: number): string => `      - name: Step${index}
        action: ExecuteBash
        timeoutSeconds: 600
        loop:
          name: loop${index}
          forEach:
            - a
            - b
        if:
          and:
            - binaryExists: bash
            - not:
                stringIsEmpty: '{{ Prefix }}'
        inputs:
          commands:
            - echo "{{ Prefix }}/{{ loop${index}.value }} {{ loop.index }}"
            - echo "${index > 0 ? `{{ build.Step${index - 1}.outputs.stdout }}` : "first"}"
`;

const documentOf = (steps: number): string =>
  header + Array.from({ length: steps }, (_, index) => step(index)).join("");

/** A document as deep as YAML lets a writer go: nested lists, and and/not nested far past 4. */
const deepDocument = (depth: number): string => {
  const nestedList = `${"[".repeat(depth)}"x"${"]".repeat(depth)}`;
  let condition = "{ binaryExists: bash }";
  for (let level = 0; level < depth; level++) condition = `{ not: ${condition} }`;
  return `${header}      - name: Deep
        action: ExecuteBash
        if: ${condition}
        inputs:
          commands: ${nestedList}
`;
};

/** Median milliseconds per validation, after a warm-up on the same text (or none). */
const timeOf = (text: string, runs = 7, warmUp = true): number => {
  if (warmUp) validateComponentDocument(text, "warm-up.yml");
  const times = Array.from({ length: runs }, () => {
    const started = performance.now();
    validateComponentDocument(text, "timed.yml");
    return performance.now() - started;
  });
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] ?? 0;
};

describe("AWSTOE validation cost", () => {
  it("validates a 16,000-character document (the inline limit) within 80 times a 6-step one (27 times its size)", () => {
    const small = documentOf(6);
    let steps = 6;
    while (documentOf(steps + 1).length <= 16_000) steps++;
    const large = documentOf(steps);
    assert.deepEqual(validateComponentDocument(large, "large.yml"), []);
    assert.ok(large.length > 15_000 && large.length <= 16_000, String(large.length));
    const ratio = timeOf(large) / timeOf(small);
    assert.ok(ratio < 80, `16,000 characters took ${ratio.toFixed(1)} times the small document`);
  });

  it("validates 2,000 chained steps within 40 times 200 steps (linear: 10)", () => {
    const thousands = documentOf(2000);
    assert.deepEqual(validateComponentDocument(thousands, "many.yml"), []);
    const ratio = timeOf(thousands, 3, false) / timeOf(documentOf(200), 3);
    assert.ok(ratio < 40, `2,000 steps took ${ratio.toFixed(1)} times 200 steps`);
  });

  it("refuses nesting 200 levels deep quickly, within 40 times a 6-step document", () => {
    const deep = deepDocument(200);
    const messages = validateComponentDocument(deep, "deep.yml").map(
      (diagnostic) => diagnostic.message,
    );
    assert.ok(
      messages.some((message) => message.includes("nest at most 4 levels")),
      messages.join("\n"),
    );
    const ratio = timeOf(deep) / timeOf(documentOf(6));
    assert.ok(ratio < 40, `the deep document took ${ratio.toFixed(1)} times the small one`);
  });
});
