import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigValidationError, parseConfig } from "../../../lib/config/load.ts";
import { configYaml } from "../../helpers/fixtures.ts";

const managed = (fields: string) => configYaml(`  - name: golden-al2023\n${fields}`);

const problemsOf = (text: string) => {
  try {
    parseConfig(text, "orchestrator.yml");
  } catch (error) {
    assert.ok(error instanceof ConfigValidationError, String(error));
    return error.problems;
  }
  assert.fail("expected the config to be rejected");
};

describe("config: existing and managed pipelines", () => {
  it("derives a managed pipeline's ARN from its name, build account and region, lowercased", () => {
    const config = parseConfig(
      configYaml(
        '  - name: Golden-AL2023\n    definition: pipelines/golden\n    account: "999999999999"\n    region: eu-west-1\n',
      ),
      "orchestrator.yml",
    );
    const pipeline = config.pipelines[2];
    assert.equal(
      pipeline?.arn,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/golden-al2023",
    );
    assert.equal(pipeline?.definition, "pipelines/golden");
    // Pipelines by ARN keep working as before.
    assert.equal(config.pipelines[0]?.definition, undefined);
  });

  it("derives the partition from the build region", () => {
    const config = parseConfig(
      `accounts: {}\npipelines:\n  - name: cn-base\n    definition: pipelines/cn\n    account: "999999999999"\n    region: cn-north-1\n`,
      "orchestrator.yml",
    );
    assert.match(config.pipelines[0]?.arn ?? "", /^arn:aws-cn:imagebuilder:cn-north-1:/);
  });

  it("refuses a pipeline with neither arn nor definition, naming both ways to fix it", () => {
    const [problem, ...rest] = problemsOf(managed('    schedule: { cron: "0 3 ? * MON *" }\n'));
    assert.equal(rest.length, 0);
    assert.equal(problem?.path, "pipelines[2]");
    assert.equal(problem?.line, 11);
    assert.match(problem?.message ?? "", /set `arn`.*or `definition: pipelines\/<folder>`/);
  });

  it("refuses a pipeline with both arn and definition", () => {
    const [problem] = problemsOf(
      managed(
        '    arn: arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/golden-al2023\n    definition: pipelines/golden\n    account: "999999999999"\n    region: eu-west-1\n',
      ),
    );
    assert.equal(problem?.path, "pipelines[2].definition");
    assert.match(problem?.message ?? "", /not both/);
  });

  it("refuses a managed pipeline that does not say where it is built", () => {
    const problems = problemsOf(managed("    definition: pipelines/golden\n"));
    assert.deepEqual(
      problems.map((problem) => problem.message),
      [
        "a managed pipeline needs `account`: where it is built",
        "a managed pipeline needs `region`: where it is built",
      ],
    );
  });

  it("refuses a definition outside pipelines/", () => {
    const [problem] = problemsOf(
      managed('    definition: ../elsewhere\n    account: "999999999999"\n    region: eu-west-1\n'),
    );
    assert.equal(problem?.path, "pipelines[2].definition");
    assert.match(problem?.message ?? "", /pipelines\/<folder>/);
  });

  it("refuses two pipelines on one definition, and two managed pipelines one ARN apart by case", () => {
    const problems = problemsOf(
      configYaml(
        [
          "  - name: golden",
          "    definition: pipelines/golden",
          '    account: "999999999999"',
          "    region: eu-west-1",
          "  - name: Golden",
          "    definition: pipelines/golden",
          '    account: "999999999999"',
          "    region: eu-west-1",
          "",
        ].join("\n"),
      ),
    );
    assert.deepEqual(
      problems.map((problem) => `${problem.path}: ${problem.message}`),
      [
        "pipelines[3].name: same Image Builder pipeline as pipelines[2] (arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/golden): names are unique per account and region, case aside",
        "pipelines[3].definition: duplicate pipeline definition (also pipelines[2])",
      ],
    );
  });

  it("refuses two pipelines with the same name, whichever kind each is", () => {
    const problems = problemsOf(
      configYaml(
        '  - name: base\n    definition: pipelines/base\n    account: "999999999999"\n    region: eu-west-3\n',
      ),
    );
    assert.deepEqual(
      problems.map((problem) => `${problem.path}: ${problem.message}`),
      ["pipelines[2].name: duplicate pipeline name (also pipelines[0])"],
    );
  });

  it("refuses managed pipelines built in two places: one stack deploys them", () => {
    const problems = problemsOf(
      configYaml(
        [
          "  - name: golden",
          "    definition: pipelines/golden",
          '    account: "999999999999"',
          "    region: eu-west-1",
          "  - name: silver",
          "    definition: pipelines/silver",
          '    account: "999999999999"',
          "    region: eu-west-3",
          "",
        ].join("\n"),
      ),
    );
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.path, "pipelines[3].account");
    assert.match(problems[0]?.message ?? "", /one stack.*eu-west-1.*eu-west-3/);
  });
});
