import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { SCENARIOS } from "../../../sandbox/scenarios.ts";
import { repoPath } from "../../helpers/fixtures.ts";

/** `npm start -- <args>`, as the package.json script runs it. */
const npmStart = (...args: string[]) =>
  promisify(execFile)(process.execPath, ["--import", "tsx", repoPath("sandbox/demo.ts"), ...args], {
    cwd: repoPath(""),
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe("npm start -- --scenario <name>", () => {
  it("an unknown name is said to be unknown, with the known ones listed, exit 2", async () => {
    const { code, stdout, stderr } = await npmStart("--scenario", "nope");
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.match(stderr, /^unknown scenario "nope"; the known ones:\n/);
    for (const name of Object.keys(SCENARIOS)) assert.match(stderr, new RegExp(`^  ${name} `, "m"));
  });

  it("a name only inherited by every object (toString) is unknown too", async () => {
    const { code, stderr } = await npmStart("--scenario", "toString");
    assert.equal(code, 2);
    assert.match(stderr, /unknown scenario "toString"/);
  });

  it("--scenario list shows the same list on stdout, exit 0", async () => {
    const { code, stdout } = await npmStart("--scenario", "list");
    assert.equal(code, 0);
    assert.match(stdout, /^usage: npm start/);
    for (const name of Object.keys(SCENARIOS)) assert.match(stdout, new RegExp(`^  ${name} `, "m"));
  });
});
