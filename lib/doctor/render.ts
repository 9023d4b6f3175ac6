import type { DoctorCheck, DoctorReport, TargetReport } from "./report.ts";

/** The table's columns: each check belongs to one, by what it is about. */
const COLUMNS = [
  ["role", /^assume role/],
  ["groups", /^groups?\b/],
  ["SLR", /^service-linked role/],
  ["AMI", /^AMI/],
  ["grants", /^grant/],
  ["templates", /^template/],
  // What Auto Scaling checks on the role when a refresh starts (RunInstances, PassRole, CreateTags).
  ["launch", /^launch /],
  ["forwarding", /^forwarding$/],
] as const;

const columnOf = (check: DoctorCheck): string =>
  COLUMNS.find(([, pattern]) => pattern.test(check.check))?.[0] ?? "other";

const mark = (ok: boolean) => (ok ? "✓" : "✗");

/** `✓`, `✗` or `-` (not checked) per column for one target. */
const row = (target: TargetReport): string[] =>
  COLUMNS.map(([column]) => {
    const checks = target.checks.filter((check) => columnOf(check) === column);
    return checks.length === 0 ? "-" : mark(checks.every((check) => check.ok));
  });

/**
 * A check's line, and under a failure the line with its fix: in full the first time, then as a
 * reference to it (one missing key-policy statement fails every target that uses the key).
 */
const checkLines = (
  check: DoctorCheck,
  indent: string,
  where: string,
  fixes: Map<string, string>,
): string[] => {
  const lines = [`${indent}${mark(check.ok)} ${check.check}: ${check.detail}`];
  if (!check.fix) return lines;
  const first = fixes.get(check.fix);
  if (first) lines.push(`${indent}    fix: the same as for ${first} above`);
  else {
    fixes.set(check.fix, `${where}${check.check}`);
    lines.push(`${indent}    fix: ${check.fix}`);
  }
  return lines;
};

const pad = (text: string, width: number) =>
  text + " ".repeat(Math.max(0, width - [...text].length));

/**
 * Per pipeline: a table (target × check), then every check in order, each failure followed by
 * its fix; last, the summary line.
 */
export const renderDoctorReport = (report: DoctorReport): string => {
  const lines: string[] = [];
  const fixes = new Map<string, string>();
  if (report.orchestrator.length > 0) {
    lines.push("orchestrator");
    for (const check of report.orchestrator)
      lines.push(...checkLines(check, "  ", "orchestrator: ", fixes));
    lines.push("");
  }
  for (const pipeline of report.pipelines) {
    lines.push(
      `pipeline ${pipeline.pipeline}${pipeline.imageArn ? `  (image ${pipeline.imageArn})` : ""}`,
    );
    for (const check of pipeline.checks)
      lines.push(...checkLines(check, "  ", `${pipeline.pipeline}: `, fixes));
    const labels = pipeline.targets.map(
      (target) => `${target.wave} ${target.account}/${target.region}`,
    );
    const width = Math.max(6, ...labels.map((label) => label.length));
    lines.push(
      `  ${pad("target", width)}  ${COLUMNS.map(([column]) => pad(column, column.length)).join("  ")}`,
    );
    pipeline.targets.forEach((target, index) => {
      const cells = row(target).map((cell, column) => pad(cell, COLUMNS[column]?.[0].length ?? 1));
      lines.push(`  ${pad(labels[index] ?? "", width)}  ${cells.join("  ")}`.trimEnd());
    });
    for (const target of pipeline.targets) {
      lines.push(`  ${target.wave} · ${target.account} (${target.accountId}) ${target.region}`);
      for (const check of target.checks)
        lines.push(...checkLines(check, "    ", `${target.account}/${target.region} `, fixes));
    }
    lines.push("");
  }
  lines.push(
    `${report.ok ? "✓ all checks passed" : "✗ some checks failed"}: ${report.passed} passed, ${report.failed} failed`,
  );
  return lines.join("\n");
};
