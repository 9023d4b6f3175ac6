import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderDoctorReport } from "../../../lib/doctor/render.ts";
import type { DoctorReport } from "../../../lib/doctor/report.ts";

const FIX = "aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com";
const target = (region: string) => ({
  wave: "prod",
  account: "prod",
  accountId: "222222222222",
  region,
  checks: [
    { check: "assume role", ok: true, detail: "ok" },
    {
      check: "service-linked role AWSServiceRoleForAutoScaling",
      ok: false,
      detail: "does not exist",
      fix: FIX,
    },
  ],
});
const REPORT: DoctorReport = {
  orchestrator: [{ check: "schedule base", ok: true, detail: "ENABLED" }],
  pipelines: [
    { pipeline: "base", checks: [], targets: [target("eu-west-1"), target("eu-west-3")] },
  ],
  passed: 3,
  failed: 2,
  ok: false,
};

describe("the doctor's report as text", () => {
  it("the orchestrator first, a table per pipeline, each ✗ with its fix, the summary last", () => {
    const lines = renderDoctorReport(REPORT).split("\n");
    assert.equal(lines[0], "orchestrator");
    assert.equal(lines[1], "  ✓ schedule base: ENABLED");
    assert.match(lines.find((line) => line.includes("prod/eu-west-3  ")) ?? "", /✓\s+-\s+✗/);
    assert.equal(lines.at(-1), "✗ some checks failed: 3 passed, 2 failed");
    assert.ok(
      lines.every((line) => line === line.trimEnd()),
      "no trailing blanks",
    );
  });

  it("a fix shared by several checks is printed once, then referred to", () => {
    const text = renderDoctorReport(REPORT);
    assert.equal(text.split(FIX).length - 1, 1);
    assert.match(
      text,
      /fix: the same as for prod\/eu-west-1 service-linked role AWSServiceRoleForAutoScaling above/,
    );
  });
});
