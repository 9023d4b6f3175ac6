import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ConfigValidationError,
  configPath,
  loadConfig,
  parseConfig,
} from "../../../lib/config/load.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { configYaml, pipelineArn, repoPath } from "../../helpers/fixtures.ts";

const problemsOf = (text: string) => {
  try {
    parseConfig(text, "orchestrator.yml");
  } catch (error) {
    assert.ok(error instanceof ConfigValidationError, String(error));
    return error.problems;
  }
  assert.fail("expected the config to be rejected");
};

const onlyProblem = (text: string) => {
  const problems = problemsOf(text);
  assert.equal(problems.length, 1, JSON.stringify(problems, null, 2));
  return problems[0] as NonNullable<(typeof problems)[0]>;
};

describe("config loading", () => {
  it("loads the documented example config with defaults applied", () => {
    const config = loadConfig(repoPath("config/orchestrator.yml"));
    assert.equal(config.pipelines.length, 2);
    assert.deepEqual(Object.keys(config.accounts), ["dev", "prod"]);
    const base = config.pipelines[0];
    assert.equal(base?.schedule?.timezone, "Europe/Paris");
    assert.equal(base?.rollout?.instanceRefresh.whenInProgress, "wait");
    assert.equal(config.pipelines[1]?.rollout?.launchTemplate.setDefaultVersion, false);
    assert.equal(config.accounts.dev?.roleName, "ami-orchestrator-target");
  });

  it("honours ORCHESTRATOR_CONFIG and defaults to config/orchestrator.yml", (t) => {
    assert.equal(configPath({ ORCHESTRATOR_CONFIG: "/etc/other.yml" }), "/etc/other.yml");
    assert.match(configPath({}), /config\/orchestrator\.yml$/);
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "mine.yml");
    writeFileSync(file, configYaml());
    assert.equal(loadConfig(configPath({ ORCHESTRATOR_CONFIG: file })).pipelines[0]?.name, "base");
  });

  it("names the file when it cannot be read", () => {
    assert.throws(
      () => loadConfig("/nonexistent/orchestrator.yml"),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /\/nonexistent\/orchestrator\.yml/);
        assert.match(error.message, /ORCHESTRATOR_CONFIG/);
        return true;
      },
    );
  });

  it("rejects an unknown time zone with its path, line and value", () => {
    const problem = onlyProblem(configYaml().replace("Europe/Paris", "Europe/Pariss"));
    assert.equal(problem.path, "pipelines[0].schedule.timezone");
    assert.equal(problem.value, "Europe/Pariss");
    assert.equal(problem.line, 8);
    assert.match(problem.message, /IANA time zone/);
  });

  it("rejects a malformed cron and says which field is wrong", () => {
    const problem = onlyProblem(configYaml().replace('"0 3 ? * MON *"', '"0 25 ? * MON *"'));
    assert.equal(problem.path, "pipelines[0].schedule.cron");
    assert.equal(problem.value, "0 25 ? * MON *");
    assert.match(problem.message, /hours: 25 is outside 0-23/);
  });

  it("rejects an account alias used in a wave but not declared, listing the declared ones", () => {
    const problem = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: canary, accounts: [staging] }]
      autoScalingGroups: { names: [web] }`),
    );
    assert.equal(problem.path, "pipelines[1].rollout.waves[0].accounts[0]");
    assert.equal(problem.value, "staging");
    assert.match(problem.message, /not declared .*declared: dev, prod/);
  });

  it("rejects a wave region the account does not have", () => {
    const problem = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: canary, accounts: [dev], regions: [eu-west-3] }]
      autoScalingGroups: { names: [web] }`),
    );
    assert.equal(problem.path, "pipelines[1].rollout.waves[0].regions");
    assert.match(problem.message, /eu-west-3 is not one of account "dev"'s regions/);
  });

  it("rejects a target rolled out by two waves", () => {
    const problem = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: one, accounts: [dev] }, { name: two, accounts: [dev, prod] }]
      autoScalingGroups: { names: [web] }`),
    );
    assert.equal(problem.path, "pipelines[1].rollout.waves[1].accounts[0]");
    assert.match(problem.message, /dev\/eu-west-1 is already rolled out in wave "one"/);
  });

  it("rejects one account id under two aliases (one target in two waves)", () => {
    const problem = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: one, accounts: [dev] }, { name: two, accounts: [dev2] }]
      autoScalingGroups: { names: [web] }`).replace(
        "  prod:",
        '  dev2: { id: "111111111111", externalId: ext-dev-02, regions: [eu-west-1] }\n  prod:',
      ),
    );
    assert.equal(problem.path, "accounts.dev2.id");
    assert.equal(problem.line, 4);
    assert.equal(problem.value, "111111111111");
    assert.match(problem.message, /eu-west-1 is already declared as "dev": one target/);
  });

  it("accepts one account id under two aliases when their regions differ", () => {
    const yaml = configYaml().replace(
      "  prod:",
      '  dev-us: { id: "111111111111", externalId: ext-dev-02, regions: [us-east-1] }\n  prod:',
    );
    assert.ok(parseConfig(yaml, "orchestrator.yml").accounts["dev-us"]);
  });

  it("rejects a schedule whose year field means it can never fire again, given the clock", () => {
    const yaml = configYaml().replace("0 3 ? * MON *", "cron(0 3 * * ? 2020-2025)");
    const now = Date.parse("2026-11-27T12:00:00Z");
    assert.throws(
      () => parseConfig(yaml, "orchestrator.yml", { now }),
      /orchestrator\.yml:8:\d+ pipelines\[0\]\.schedule\.cron: can never fire again: its year field ends in 2025, and it is 2026 in Europe\/Paris \(got "cron\(0 3 \* \* \? 2020-2025\)"\)/,
    );
    // The same file is fine a year earlier, and in the packaged config (no clock: not checked).
    assert.ok(parseConfig(yaml, "orchestrator.yml", { now: Date.parse("2025-06-01T00:00:00Z") }));
    assert.ok(parseConfig(yaml, "orchestrator.yml"));
  });

  it("judges a schedule's year in its own time zone, and understands year steps", () => {
    const yaml = (cron: string) =>
      configYaml().replace(
        '"0 3 ? * MON *", timezone: Europe/Paris',
        `"${cron}", timezone: Pacific/Kiritimati`,
      );
    // 2026-12-31T11:00Z is already 2027-01-01 in Kiritimati (UTC+14).
    const now = Date.parse("2026-12-31T11:00:00Z");
    assert.throws(
      () => parseConfig(yaml("0 3 * * ? 2026"), "o.yml", { now }),
      /ends in 2026, and it is 2027/,
    );
    // Every third year from 2020 to 2026, then none; every third year from 2020 goes on to 2197.
    assert.throws(
      () => parseConfig(yaml("0 3 * * ? 2020-2026/3"), "o.yml", { now }),
      /ends in 2026, and it is 2027/,
    );
    assert.ok(parseConfig(yaml("0 3 * * ? 2020/3"), "o.yml", { now }));
  });

  describe("configs that are accepted by syntax but can never work", () => {
    it("refuses a cron that can never fire (February 30), naming its line", () => {
      assert.throws(
        () => parseConfig(configYaml().replace("0 3 ? * MON *", "0 3 30 2 ? *"), "o.yml"),
        /o\.yml:8:\d+ pipelines\[0\]\.schedule\.cron: invalid cron expression: can never fire: day-of-month 30 does not occur in FEB \(got "0 3 30 2 \? \*"\)/,
      );
    });

    it("refuses a freeze date that is not in the calendar instead of rolling it into March", () => {
      const dateOnly = onlyProblem(
        `${configYaml()}freeze: [{ from: "2026-02-20", to: "2026-02-30" }]\n`,
      );
      assert.equal(dateOnly.path, "freeze[0].to");
      assert.equal(dateOnly.line, 11);
      assert.equal(dateOnly.value, "2026-02-30");
      assert.match(
        dateOnly.message,
        /2026-02-30 is not a calendar date: February 2026 has 28 days/,
      );

      const timestamp = onlyProblem(
        `${configYaml()}freeze: [{ from: "2026-04-31T18:00:00+01:00", to: "2026-05-03" }]\n`,
      );
      assert.equal(timestamp.path, "freeze[0].from");
      assert.match(timestamp.message, /2026-04-31 is not a calendar date: April 2026 has 30 days/);

      const hour = onlyProblem(
        `${configYaml()}freeze: [{ from: "2026-04-30T24:00:00Z", to: "2026-05-03" }]\n`,
      );
      assert.equal(hour.path, "freeze[0].from");
      assert.match(hour.message, /must be a date "YYYY-MM-DD" or a timestamp/);
    });

    it("accepts a leap day in a leap year", () => {
      const config = parseConfig(
        `${configYaml()}freeze: [{ from: "2028-02-29", to: "2028-02-29T23:00:00+01:00" }]\n`,
        "o.yml",
      );
      assert.equal(config.freeze[0]?.from, "2028-02-29");
    });

    it("refuses a misspelt region, naming its line and the region it resembles", () => {
      const problem = onlyProblem(
        configYaml().replace("regions: [eu-west-1] }", "regions: [eu-wset-1] }"),
      );
      assert.equal(problem.path, "accounts.dev.regions[0]");
      assert.equal(problem.line, 3);
      assert.equal(problem.value, "eu-wset-1");
      assert.match(problem.message, /unknown region eu-wset-1 \(did you mean eu-west-1\?\)/);
    });

    it("refuses a region no AWS partition has, and a partition's pseudo-region", () => {
      for (const region of ["xx-north-1", "aws-global", "Europe"]) {
        const problem = onlyProblem(
          configYaml().replace("regions: [eu-west-1] }", `regions: [${region}] }`),
        );
        assert.equal(problem.path, "accounts.dev.regions[0]");
        assert.match(problem.message, /^unknown region \S+: not a region of any AWS partition/);
      }
    });

    it("refuses a pipeline ARN whose partition is not its region's", () => {
      const problem = onlyProblem(
        configYaml().replace(
          pipelineArn("base"),
          pipelineArn("base").replace("arn:aws:", "arn:aws-cn:"),
        ),
      );
      assert.equal(problem.path, "pipelines[0].arn");
      assert.equal(problem.line, 7);
      assert.match(
        problem.message,
        /partition "aws-cn" does not match region eu-west-1, which is in partition "aws"/,
      );
    });

    it("refuses a pipeline ARN or SNS topic ARN in an unknown region", () => {
      const problems = problemsOf(
        configYaml(`    notificationTopicArn: arn:aws:sns:eu-wset-3:999999999999:topic`).replace(
          pipelineArn("base"),
          pipelineArn("base", "eu-wset-1"),
        ),
      );
      assert.deepEqual(
        problems.map((problem) => [problem.path, problem.message]),
        [
          ["pipelines[0].arn", "unknown region eu-wset-1 (did you mean eu-west-1?)"],
          [
            "pipelines[1].notificationTopicArn",
            "unknown region eu-wset-3 (did you mean eu-west-3?)",
          ],
        ],
      );
    });

    it("refuses an account whose regions span two partitions (an account lives in one)", () => {
      const problem = onlyProblem(
        configYaml().replace(
          "regions: [eu-west-1, eu-west-3] }",
          "regions: [eu-west-1, cn-north-1] }",
        ),
      );
      assert.equal(problem.path, "accounts.prod.regions[1]");
      assert.match(problem.message, /cn-north-1 is in partition "aws-cn", eu-west-1 in "aws"/);
    });

    it("refuses a wave whose target region is in another partition than the pipeline", () => {
      const problem = onlyProblem(
        configYaml(`    rollout:
      waves: [{ name: one, accounts: [china] }]
      autoScalingGroups: { names: [web] }`).replace(
          "  prod:",
          '  china: { id: "333333333333", externalId: ext-cn-01, regions: [cn-north-1] }\n  prod:',
        ),
      );
      assert.equal(problem.path, "pipelines[1].rollout.waves[0].accounts[0]");
      assert.match(
        problem.message,
        /china\/cn-north-1 is in partition "aws-cn" but the pipeline is in "aws": an AMI is not shared across partitions/,
      );
    });

    it("accepts the China and GovCloud partitions with their own regions", () => {
      const config = parseConfig(
        configYaml(`    rollout:
      waves: [{ name: one, accounts: [china] }]
      autoScalingGroups: { names: [web] }
  - name: gov
    arn: arn:aws-us-gov:imagebuilder:us-gov-west-1:999999999999:image-pipeline/gov
    notificationTopicArn: arn:aws-us-gov:sns:us-gov-west-1:999999999999:topic
    rollout:
      waves: [{ name: one, accounts: [gov] }]
      autoScalingGroups: { names: [web] }`)
          .replace(
            pipelineArn("web", "eu-west-3"),
            "arn:aws-cn:imagebuilder:cn-north-1:999999999999:image-pipeline/web",
          )
          .replace(
            "  prod:",
            [
              '  china: { id: "333333333333", externalId: ext-cn-01, regions: [cn-north-1, cn-northwest-1] }',
              '  gov: { id: "444444444444", externalId: ext-gov-01, regions: [us-gov-west-1, us-gov-east-1] }',
              "  prod:",
            ].join("\n"),
          ),
        "o.yml",
      );
      assert.deepEqual(
        config.pipelines.map((pipeline) => pipeline.arn.split(":")[1]),
        ["aws", "aws-cn", "aws-us-gov"],
      );
    });

    it("knows the regions of the SDK release it runs with, recent ones included", () => {
      const regions = ["mx-central-1", "ap-southeast-7", "ap-east-2", "ap-southeast-6"];
      const config = parseConfig(
        configYaml().replace("regions: [eu-west-1] }", `regions: [${regions.join(", ")}] }`),
        "o.yml",
      );
      assert.deepEqual(config.accounts.dev?.regions, regions);
    });
  });

  it("reports a YAML alias bomb with the file, line and path of the first alias", () => {
    const bomb = [
      "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
      "y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "accounts: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ].join("\n");
    const problem = onlyProblem(bomb);
    assert.equal(problem.file, "orchestrator.yml");
    assert.equal(problem.line, 2);
    assert.equal(problem.column, 8);
    assert.equal(problem.path, "y[0]");
    assert.match(problem.message, /aliases expand beyond 100/);
  });

  it("refuses a config file over 1 MB before parsing it, naming the file", (t) => {
    const huge = `${configYaml()}\n# ${"x".repeat(1024 * 1024)}\n`;
    const started = performance.now();
    assert.throws(
      () => parseConfig(huge, "orchestrator.yml"),
      /orchestrator\.yml <root>: the file is \d+ bytes, more than the 1048576-byte limit: not parsed/,
    );
    const dir = mkdtempSync(join(tmpdir(), "cfg-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "big.yml"), huge);
    assert.throws(() => loadConfig(join(dir, "big.yml")), /big\.yml <root>: the file is \d+ bytes/);
    assert.ok(performance.now() - started < 1000, "refused without parsing");
  });

  it("rejects checkpoints that stop before 100%, and a checkpoint delay without checkpoints", () => {
    const partial = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: one, accounts: [dev] }]
      autoScalingGroups: { names: [web] }
      instanceRefresh: { checkpointPercentages: [25, 50] }`),
    );
    assert.equal(partial.path, "pipelines[1].rollout.instanceRefresh.checkpointPercentages");
    assert.match(partial.message, /must end with 100 \(got 50\)/);

    const delayOnly = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: one, accounts: [dev] }]
      autoScalingGroups: { names: [web] }
      instanceRefresh: { checkpointDelay: 600 }`),
    );
    assert.equal(delayOnly.path, "pipelines[1].rollout.instanceRefresh.checkpointDelay");
    assert.match(delayOnly.message, /needs checkpointPercentages/);
  });

  it("rejects an empty tag selector, which would select every group of every target", () => {
    const problem = onlyProblem(
      configYaml(`    rollout:
      waves: [{ name: one, accounts: [dev] }]
      autoScalingGroups: { tags: {} }`),
    );
    assert.equal(problem.path, "pipelines[1].rollout.autoScalingGroups.tags");
    assert.match(problem.message, /at least one tag/);
  });

  it("rejects a duplicate pipeline name, pointing at the second one", () => {
    const problem = onlyProblem(
      configYaml(`  - name: base
    arn: ${pipelineArn("base-copy")}`),
    );
    assert.equal(problem.path, "pipelines[2].name");
    assert.equal(problem.value, "base");
    assert.match(problem.message, /duplicate pipeline name \(also pipelines\[0\]\)/);
  });

  it("rejects a bad ARN", () => {
    const problem = onlyProblem(
      configYaml().replace(
        pipelineArn("web", "eu-west-3"),
        "arn:aws:imagebuilder:eu-west-3:12345:pipeline/web",
      ),
    );
    assert.equal(problem.path, "pipelines[1].arn");
    assert.equal(problem.value, "arn:aws:imagebuilder:eu-west-3:12345:pipeline/web");
    assert.match(problem.message, /Image Builder pipeline ARN/);
  });

  it("explains that account ids must be quoted", () => {
    const problem = onlyProblem(configYaml().replace('"111111111111"', "111111111111"));
    assert.equal(problem.path, "accounts.dev.id");
    assert.match(problem.message, /in quotes/);
  });

  it("rejects a misspelt key instead of ignoring it", () => {
    const problem = onlyProblem(
      configYaml().replace("timezone: Europe/Paris", "timzone: Europe/Paris"),
    );
    assert.equal(problem.path, "pipelines[0].schedule");
    assert.match(problem.message, /timzone/);
  });

  it("rejects a freeze window that ends before it starts", () => {
    const problem = onlyProblem(
      `${configYaml()}freeze: [{ from: "2026-12-20", to: "2026-12-01" }]\n`,
    );
    assert.equal(problem.path, "freeze[0].to");
    assert.match(problem.message, /must be after "from"/);
  });

  it("reports every problem at once, in file order", () => {
    const problems = problemsOf(
      configYaml().replace("Europe/Paris", "Mars/Olympus").replace('"111111111111"', '"1111"'),
    );
    assert.deepEqual(
      problems.map((problem) => problem.path),
      ["accounts.dev.id", "pipelines[0].schedule.timezone"],
    );
  });

  it("reports YAML syntax errors with a line", () => {
    const [problem] = problemsOf('accounts:\n  dev: { id: "1"\npipelines: []\n');
    assert.match(problem?.message ?? "", /YAML syntax/);
    assert.equal(problem?.line, 3); // where the unclosed flow map is noticed
  });

  it("formats each problem as file:line:column path: message (got value)", () => {
    assert.throws(
      () => parseConfig(configYaml().replace("Europe/Paris", "Nowhere"), "config/orchestrator.yml"),
      /config\/orchestrator\.yml:8:\d+ pipelines\[0\]\.schedule\.timezone: must be an IANA time zone .* \(got "Nowhere"\)/,
    );
  });
});
