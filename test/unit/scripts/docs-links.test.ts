import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { anchorsOf, checkLinks, githubSlug, linksOf } from "../../../scripts/docs/links.ts";

describe("GitHub's heading anchors", () => {
  it("lowercases, drops punctuation and turns each space into a hyphen", () => {
    assert.equal(githubSlug("What and why"), "what-and-why");
    assert.equal(githubSlug("Upgrade & uninstall"), "upgrade--uninstall");
    assert.equal(githubSlug("Pre-flight: npm run doctor"), "pre-flight-npm-run-doctor");
    assert.equal(githubSlug("The key owner's part"), "the-key-owners-part");
    assert.equal(
      githubSlug("Group shapes: how each is rolled, and what we cannot roll (and why)"),
      "group-shapes-how-each-is-rolled-and-what-we-cannot-roll-and-why",
    );
  });

  it("keeps underscores, digits and letters of any script, drops emoji and symbols", () => {
    assert.equal(githubSlug("snake_case 2 étapes"), "snake_case-2-étapes");
    assert.equal(githubSlug("Alerts 🚨 → runbook"), "alerts---runbook");
  });

  it("slugs the rendered text: code spans, links and emphasis lose their markup", () => {
    const anchors = anchorsOf(
      [
        "# `npm run doctor`",
        "## [Deploy](docs/deployment.md) **now**",
        "### The _sandbox_ and snake_case",
      ].join("\n"),
    );
    assert.deepEqual([...anchors], ["npm-run-doctor", "deploy-now", "the-sandbox-and-snake_case"]);
  });

  it("numbers repeated headings as GitHub does (-1, -2)", () => {
    const anchors = anchorsOf("## Permissions\n## Permissions\n## Permissions\n");
    assert.deepEqual([...anchors], ["permissions", "permissions-1", "permissions-2"]);
  });

  it("takes no heading from a code block, and takes explicit <a id> / <a name> anchors", () => {
    const anchors = anchorsOf(
      '```\n# not a heading\n```\n<a id="runbook-x"></a>\n<a name="y"></a>\n',
    );
    assert.deepEqual([...anchors], ["runbook-x", "y"]);
  });
});

describe("links in the docs", () => {
  it("finds inline links, images and reference definitions, not those in code", () => {
    const links = linksOf(
      [
        "See [the config](config/orchestrator.yml) and ![diagram](docs/a.png).",
        '[ref]: docs/operating.md#permissions "title"',
        "`[not](a-link.md)`",
        "```",
        "[nor](this.md)",
        "```",
        "[spaces](<docs/with space.md>)",
      ].join("\n"),
    );
    assert.deepEqual(
      links.map((link) => [link.target, link.line]),
      [
        ["config/orchestrator.yml", 1],
        ["docs/a.png", 1],
        ["docs/operating.md#permissions", 2],
        ["docs/with space.md", 7],
      ],
    );
  });

  const files: Record<string, string> = {
    "README.md": [
      "# ami-orchestrator",
      "## Deploy",
      "[ok](#deploy) [ok](docs/deployment.md#the-key-owners-part) [ok](config/orchestrator.yml)",
      "[web](https://example.com/x#y) [mail](mailto:a@b.c)",
      "[bad anchor](#deploy-it) [bad file](docs/nope.md) [bad anchor there](docs/deployment.md#nope)",
      "[outside](../shared/DESIGN.md)",
      "[line](serverless.yml#L10)",
    ].join("\n"),
    "docs/deployment.md": "# Deployment\n## The key owner's part\n[up](../README.md#deploy)\n",
  };
  const exists = (path: string) =>
    path in files || ["config/orchestrator.yml", "serverless.yml", "docs"].includes(path);

  it("reports every broken relative link and anchor, with file and line, and accepts the rest", () => {
    const problems = checkLinks(Object.keys(files), {
      read: (path) => files[path] ?? "",
      exists,
    });

    assert.deepEqual(
      problems.map((problem) => `${problem.file}:${problem.line}: ${problem.message}`),
      [
        'README.md:5: no heading or anchor "deploy-it" in README.md',
        "README.md:5: docs/nope.md does not exist",
        'README.md:5: no heading or anchor "nope" in docs/deployment.md',
        "README.md:6: ../shared/DESIGN.md points outside the repository",
      ],
    );
  });
});
