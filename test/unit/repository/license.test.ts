import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { repoPath } from "../../helpers/fixtures.ts";

/** Whitespace-insensitive: the same words, however the lines are wrapped. */
const words = (text: string) => text.replace(/\s+/g, " ").trim();
/** The licence's terms, from "Permission is hereby granted" on. */
const terms = (text: string) => words(text.slice(text.indexOf("Permission is hereby granted")));

describe("the repository's licence", () => {
  it("LICENSE holds the MIT licence package.json declares, for the project's contributors", () => {
    const pkg = JSON.parse(readFileSync(repoPath("package.json"), "utf8")) as { license: string };
    assert.equal(pkg.license, "MIT");
    assert.ok(existsSync(repoPath("LICENSE")), "a LICENSE file at the repository's root");
    const license = readFileSync(repoPath("LICENSE"), "utf8");
    assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 ami-orchestrator contributors\n/);
    // The MIT terms word for word, as a dependency that declares MIT ships them (zod).
    const reference = readFileSync(repoPath("node_modules/zod/LICENSE"), "utf8");
    assert.equal(terms(license), terms(reference));
  });
});
