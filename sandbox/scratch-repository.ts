import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A throw-away clone of the image repository for a scenario: a copy of `pipelines/` and the
 * config in a temporary git repository, so edits are real commits that `git log` and the
 * pipelines code see (the commit of each component, the commit a build is tagged with). Commits
 * carry a fixed author and date, so the same edits give the same commit ids on every run.
 */
export interface ScratchRepository {
  readonly root: string;
  /** The config's path in the repository (`config/orchestrator.yml`). */
  readonly configFile: string;
  read(path: string): string;
  /** Writes the files and commits them; returns the commit id. */
  commit(message: string, files: Readonly<Record<string, string>>): string;
  git(...args: string[]): string;
  remove(): void;
}

const FIXED = {
  GIT_AUTHOR_NAME: "Platform Team",
  GIT_AUTHOR_EMAIL: "platform-team@example.com",
  GIT_COMMITTER_NAME: "Platform Team",
  GIT_COMMITTER_EMAIL: "platform-team@example.com",
};

export const scratchRepository = (options: {
  /** The repository to copy `pipelines/` from. */
  readonly from: string;
  /** The config to copy (it names the definitions under `pipelines/`). */
  readonly configText: string;
  readonly remote: string;
  /** The first commit's date; each commit after it is a minute later. */
  readonly since: string;
}): ScratchRepository => {
  const root = mkdtempSync(join(tmpdir(), "image-repository-"));
  let commits = 0;
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...FIXED,
        GIT_AUTHOR_DATE: new Date(Date.parse(options.since) + commits * 60_000).toISOString(),
        GIT_COMMITTER_DATE: new Date(Date.parse(options.since) + commits * 60_000).toISOString(),
      },
    }).trim();
  const write = (files: Readonly<Record<string, string>>) => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
  };
  const commit = (message: string, files: Readonly<Record<string, string>>) => {
    write(files);
    git("add", "-A");
    git("commit", "-q", "--no-gpg-sign", "-m", message);
    commits += 1;
    return git("rev-parse", "HEAD");
  };
  git("init", "-q");
  git("symbolic-ref", "HEAD", "refs/heads/main");
  git("remote", "add", "origin", options.remote);
  cpSync(join(options.from, "pipelines"), join(root, "pipelines"), { recursive: true });
  const configFile = "config/orchestrator.yml";
  commit("Image definitions", { [configFile]: options.configText });
  return {
    root,
    configFile,
    read: (path) => readFileSync(join(root, path), "utf8"),
    commit,
    git,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
};
