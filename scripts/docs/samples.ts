/**
 * Sample output for the docs, produced by running the code: the `npm start` story in-process
 * (its summary, a timeline excerpt, the final status), `npm run validate-config` on a broken copy
 * of the config, `npm run doctor -- --sandbox`. Every run is deterministic: the sandbox's clock is
 * simulated (sandbox/install.ts), and nothing here depends on the machine or the date.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { OrchestratorConfig } from "../../lib/config/schema.ts";

const fenced = (text: string) => `\`\`\`\n${text.replace(/\s+$/, "")}\n\`\`\``;

/** Environment for child runs: no colour, the default config, no SDK notice. */
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: "1",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  delete env.ORCHESTRATOR_CONFIG;
  delete env.FORCE_COLOR;
  return env;
};

/** tsx, as this process resolved it: a child run in a temporary folder must find it too. */
const TSX = import.meta.resolve("tsx");

const runScript = async (
  root: string,
  script: string,
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", TSX, join(root, script), ...args],
      { cwd, env: childEnv(), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== "number") throw error;
    return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
};

/**
 * The main story of `npm start`, run in this process. Call once, before anything else loads the
 * handlers: Powertools and the timeline read their settings when they load.
 */
export const demoBlocks = async (config: OrchestratorConfig) => {
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_SERVICE_NAME = "ami-orchestrator";
  process.env.NO_COLOR = "1";
  const { runDemo, summaryLines } = await import("../../sandbox/demo-story.ts");
  const lines: string[] = [];
  const run = await runDemo(config, { print: (line) => lines.push(...line.split("\n")) });
  if (!run.summary) throw new Error("the demo returned no summary");
  const first = config.pipelines[0]?.name ?? "";
  const status = run.status.find((text) => text.split(/\s+/)[1] === first);
  if (!status) throw new Error(`the demo's status has no rollout of ${first}`);
  return {
    "demo-summary": fenced(summaryLines(run.summary).join("\n")),
    "demo-timeline": fenced(timelineExcerpt(lines, ["1.", "2.", "5.", "6."])),
    "rollout-status": fenced(`$ npm run rollout -- status ${first}\n${status}`),
  };
};

/**
 * The timeline's sections whose headings start with these numbers, each cut to `most` lines, with
 * "..." where lines or sections were left out.
 */
const timelineExcerpt = (
  lines: readonly string[],
  sections: readonly string[],
  most = 10,
): string => {
  const out: string[] = [];
  let section: string[] | undefined;
  let previous = 0;
  const flush = () => {
    if (!section) return;
    out.push(...section.slice(0, most), ...(section.length > most ? ["..."] : []));
    section = undefined;
  };
  for (const line of lines) {
    const heading = /^(\d+)\. /.exec(line)?.[1];
    if (heading) {
      flush();
      if (sections.includes(`${heading}.`)) {
        if (previous > 0 && Number(heading) !== previous + 1 && out.at(-1) !== "...")
          out.push("...");
        previous = Number(heading);
        section = [];
      }
    }
    if (section && line.trim() !== "") section.push(line);
  }
  flush();
  if (out.length === 0) throw new Error("the demo's timeline has none of the sections wanted");
  return out.join("\n");
};

/** Edits that break a copy of the config, each in a way the validator must name. */
const BREAKAGES: ReadonlyArray<readonly [string, string]> = [
  ['id: "222222222222"', "id: 222222222222"],
  ['cron: "0 3 ? * MON *"', 'cron: "0 3 * * MON *"'],
  [
    "accounts: [dev, prod], regions: [eu-west-1]",
    "accounts: [staging, prod], regions: [eu-west-1]",
  ],
];

/** `npm run validate-config` on a copy of config/orchestrator.yml broken three ways. */
export const validateConfigBlock = async (root: string): Promise<string> => {
  let text = readFileSync(join(root, "config/orchestrator.yml"), "utf8");
  for (const [from, to] of BREAKAGES) {
    if (text.split(from).length !== 2)
      throw new Error(
        `config/orchestrator.yml: "${from}" is not there exactly once: update BREAKAGES in scripts/docs/samples.ts`,
      );
    text = text.replace(from, to);
  }
  const dir = mkdtempSync(join(tmpdir(), "ami-orchestrator-docs-"));
  try {
    mkdirSync(join(dir, "config"));
    writeFileSync(join(dir, "config/orchestrator.yml"), text);
    const run = await runScript(
      root,
      "scripts/validate-config.ts",
      ["config/orchestrator.yml"],
      dir,
    );
    if (run.code !== 1)
      throw new Error(
        `validate-config on the broken copy exited ${run.code}: ${run.stdout}${run.stderr}`,
      );
    return fenced(`$ npm run validate-config\n${run.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * `npm start -- --scenario pipelines-as-code`: the whole story. Its commits are made in a scratch
 * clone with a fixed author and dates, so their ids (and the hashes that follow from them) change
 * only with the definitions in pipelines/.
 */
export const pipelinesAsCodeBlock = async (root: string): Promise<string> => {
  const run = await runScript(root, "sandbox/demo.ts", ["--scenario", "pipelines-as-code"], root);
  if (run.code !== 0)
    throw new Error(`npm start -- --scenario pipelines-as-code exited ${run.code}: ${run.stderr}`);
  return fenced(`$ npm start -- --scenario pipelines-as-code\n${run.stdout}`);
};

/**
 * `npm run pipelines -- plan --stage dev --sandbox` in a scratch clone of this repository's
 * definitions (fixed commit dates: the same ids every run) with one component edited and not
 * committed yet.
 */
export const planSandboxBlock = async (root: string): Promise<string> => {
  const { scratchRepository } = await import("../../sandbox/scratch-repository.ts");
  const repo = scratchRepository({
    from: root,
    configText: readFileSync(join(root, "config/orchestrator.yml"), "utf8"),
    remote: "https://github.com/acme/images.git",
    since: "2026-11-16T08:00:00Z",
  });
  try {
    const file = "pipelines/base-al2023/components/harden-ssh.yml";
    const text = repo.read(file);
    if (!text.includes("MaxAuthTries 3"))
      throw new Error(`${file}: no "MaxAuthTries 3" to edit: update planSandboxBlock`);
    writeFileSync(join(repo.root, file), text.replace("MaxAuthTries 3", "MaxAuthTries 2"));
    const run = await runScript(
      root,
      "scripts/pipelines.ts",
      ["plan", "--stage", "dev", "--sandbox"],
      repo.root,
    );
    if (run.code !== 0)
      throw new Error(`plan --sandbox exited ${run.code}: ${run.stdout}${run.stderr}`);
    return fenced(`$ npm run pipelines -- plan --stage dev --sandbox\n${run.stdout}`);
  } finally {
    repo.remove();
  }
};

/** `npm run doctor -- --sandbox`: the whole report. */
export const doctorBlock = async (root: string): Promise<string> => {
  const run = await runScript(root, "scripts/doctor.ts", ["--sandbox"], root);
  if (run.code !== 0)
    throw new Error(`npm run doctor -- --sandbox exited ${run.code}: ${run.stderr}`);
  return fenced(`$ npm run doctor -- --sandbox\n${run.stdout}`);
};
