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

/** A short step chaining from the one before it: many steps, little text per step. */
const chainedStep = (index: number): string => `      - name: S${index}
        action: ExecuteBash
        inputs: { commands: [ "echo {{ Prefix }} ${index > 0 ? `{{ build.S${index - 1}.outputs.stdout }}` : ""}" ] }
`;

const chainOf = (steps: number): string =>
  header + Array.from({ length: steps }, (_, index) => chainedStep(index)).join("");

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

/**
 * CPU milliseconds to validate `text` `times` times in a row, the least of three rounds: CPU time
 * and the minimum keep other processes on a shared machine out of the measure.
 */
const timeOf = (text: string, times = 1): number => {
  const rounds = [0, 1, 2].map(() => {
    const started = process.cpuUsage();
    for (let round = 0; round < times; round++) validateComponentDocument(text, "timed.yml");
    const used = process.cpuUsage(started);
    return (used.user + used.system) / 1000;
  });
  return Math.min(...rounds);
};

/**
 * How much longer `large` takes than the same amount of text in `small` documents: about 1 when
 * the cost is linear, the size ratio itself when it is quadratic.
 */
const slowdown = (large: string, small: string): number => {
  const copies = Math.round(large.length / small.length);
  validateComponentDocument(large, "warm-up.yml");
  timeOf(small, copies);
  const ratio = timeOf(large) / timeOf(small, copies);
  return ratio;
};

describe("AWSTOE validation cost", () => {
  it("validates a 16,000-character document (the inline limit) at most 5 times slower per character than a small one", () => {
    let steps = 6;
    while (documentOf(steps + 1).length <= 16_000) steps++;
    const large = documentOf(steps);
    assert.ok(large.length > 15_000 && large.length <= 16_000, String(large.length));
    assert.deepEqual(validateComponentDocument(large, "large.yml"), []);
    const ratio = slowdown(large, documentOf(3));
    assert.ok(ratio < 5, `16,000 characters took ${ratio.toFixed(1)} times as long per character`);
  });

  it("validates 2,000 chained steps at most 4 times slower per step than 200 (quadratic: 10)", () => {
    const thousands = chainOf(2000);
    assert.deepEqual(validateComponentDocument(thousands, "many.yml"), []);
    const ratio = slowdown(thousands, chainOf(200));
    assert.ok(ratio < 4, `2,000 steps took ${ratio.toFixed(1)} times as long per step as 200`);
  });

  it("refuses nesting 400 levels deep at most 5 times slower per character than 40 levels", () => {
    const deep = deepDocument(400);
    const messages = validateComponentDocument(deep, "deep.yml").map(
      (diagnostic) => diagnostic.message,
    );
    assert.ok(
      messages.some((message) => message.includes("nest at most 4 levels")),
      messages.join("\n"),
    );
    const ratio = slowdown(deep, deepDocument(40));
    assert.ok(ratio < 5, `400 levels took ${ratio.toFixed(1)} times as long per character as 40`);
  });
});
