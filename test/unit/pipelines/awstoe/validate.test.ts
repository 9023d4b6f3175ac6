import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { closest } from "../../../../lib/pipelines/awstoe/suggest.ts";
import { validateComponentDocument } from "../../../../lib/pipelines/awstoe/validate.ts";

const printed = (text: string, platform?: "Linux" | "Windows" | "macOS") =>
  validateComponentDocument(text, "component.yml", platform ? { platform } : {}).map(
    (diagnostic) =>
      `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`,
  );

const document = (steps: string) => `schemaVersion: 1.0
phases:
  - name: build
    steps:
${steps}`;

describe("validateComponentDocument", () => {
  it("refuses a document that is not a mapping, at its first character", () => {
    assert.deepEqual(printed("- just\n- a list\n"), [
      "component.yml:1:1: a component document is a YAML mapping with schemaVersion: 1.0 and phases",
    ]);
  });

  it("reports YAML that does not parse at the parser's position, and checks nothing further", () => {
    const text = document(`      - name: Broken
        action: ExecuteBash
        inputs:
          commands: [ "echo unclosed"
      - name: Next
        action: ExecuteBsh
`);
    assert.deepEqual(
      printed(text)[0],
      "component.yml:9:7: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]",
    );
    assert.ok(printed(text).every((line) => line.includes("YAML syntax")));
  });

  it("refuses an empty document, naming what it needs", () => {
    assert.deepEqual(printed(""), [
      "component.yml:1:1: a component document is a YAML mapping with schemaVersion: 1.0 and phases",
    ]);
  });

  it("locates a reference inside a block scalar at its own line and column", () => {
    const text = document(`      - name: Script
        action: ExecuteBash
        inputs:
          commands:
            - |
              set -e
              echo "{{ Missing }}"
`);
    assert.deepEqual(printed(text), [
      "component.yml:11:21: unknown variable {{ Missing }}: define it under constants or parameters",
    ]);
  });

  it("refuses an input index past the entries of the step it chains from", () => {
    const text = document(`      - name: Fetch
        action: S3Download
        inputs:
          - source: s3://artifacts/app.zip
            destination: /tmp/app.zip
      - name: Unzip
        action: ExecuteBash
        inputs:
          commands:
            - unzip '{{ build.Fetch.inputs[1].destination }}'
`);
    assert.deepEqual(printed(text), [
      'component.yml:14:22: {{ build.Fetch.inputs[1].destination }}: step "Fetch" has 1 input entry (indexes from 0)',
    ]);
  });

  it("checks platforms only when the component's platform is given", () => {
    const text = document(`      - name: Script
        action: ExecutePowerShell
        inputs:
          commands: [ "Write-Host hi" ]
`);
    assert.deepEqual(printed(text), []);
    assert.deepEqual(printed(text, "Windows"), []);
    assert.deepEqual(printed(text, "Linux"), [
      "component.yml:6:17: ExecutePowerShell does not run on Linux (it runs on Windows): use ExecuteBash",
    ]);
  });

  it("refers a named loop by its name, as {{ <name>.value }}, and says so for {{ loop.<name>.value }}", () => {
    const text = document(`      - name: Users
        action: ExecuteBash
        loop:
          name: user
          forEach: [ alice, bob ]
        inputs:
          commands:
            - useradd '{{ user.value }}' && echo '{{ loop.index }}'
            - passwd -l '{{ loop.user.value }}'
`);
    assert.deepEqual(printed(text), [
      "component.yml:13:26: {{ loop.user.value }}: a named loop is referenced by its name, write {{ user.value }}",
    ]);
  });

  it("leaves braces that are not AWSTOE references alone (docker's Go templates)", () => {
    const text = document(`      - name: Containers
        action: ExecuteBash
        inputs:
          commands:
            - docker ps --format '{{.Names}} {{ json .Ports }}'
`);
    assert.deepEqual(printed(text), []);
  });

  it("reports every problem of a document, in line order", () => {
    const text = document(`      - name: Second
        action: ExecuteBash
        onFailure: Stop
        inputs:
          commands: [ "echo {{ nope }}" ]
      - name: Second
        action: Reboot
`);
    assert.deepEqual(printed(text), [
      'component.yml:7:20: onFailure of step "Second" must be Abort, Continue or Ignore (got "Stop")',
      "component.yml:9:29: unknown variable {{ nope }}: define it under constants or parameters",
      'component.yml:10:15: duplicate step name "Second" in phase "build" (first at line 5): rename one, step names are unique within a phase',
    ]);
  });
});

describe("did you mean", () => {
  it("suggests the known name a typo is closest to", () => {
    assert.equal(closest("comands", ["commands", "file"]), "commands");
    assert.equal(closest("ExecuteBsh", ["ExecuteBash", "ExecuteBinary"]), "ExecuteBash");
    assert.equal(closest("timeout", ["timeoutSeconds", "onFailure"]), "timeoutSeconds");
  });

  it("suggests nothing for a name unlike any known one, or too short to judge", () => {
    assert.equal(closest("banana", ["commands", "file"]), undefined);
    assert.equal(closest("|", [".", ","]), undefined);
  });
});
