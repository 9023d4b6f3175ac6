import { execFileSync } from "node:child_process";

/**
 * What the repository says about the code being deployed and built: the commit, ref and
 * repository of the CI job (GitHub Actions or GitLab CI variables), else of the local clone.
 */

const git = (root: string, args: readonly string[]): string | undefined => {
  try {
    const out = execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
};

/**
 * The commit that last changed any of `paths`, for lineage tags: undefined in a shallow clone
 * (where every file seems to come from the one commit fetched) and for a path with uncommitted
 * changes (its content comes from no commit). Stable across re-runs, so it never makes the
 * template differ between two synths of the same tree.
 */
export const gitCommitOf =
  (root: string) =>
  (paths: readonly string[]): string | undefined => {
    if (git(root, ["rev-parse", "--is-shallow-repository"]) !== "false") return undefined;
    if (git(root, ["status", "--porcelain", "--", ...paths])) return undefined;
    return git(root, ["log", "-1", "--format=%H", "--", ...paths]);
  };

/**
 * The same for the tree of a commit (`rev`, e.g. HEAD): the commit that last changed `paths` as
 * of `rev`, whatever the working tree holds. What the definitions at that commit were deployed
 * with, so a plan of the working tree sees unchanged files as unchanged.
 */
export const gitCommitAt =
  (root: string, rev: string) =>
  (paths: readonly string[]): string | undefined => {
    if (git(root, ["rev-parse", "--is-shallow-repository"]) !== "false") return undefined;
    return git(root, ["log", "-1", "--format=%H", rev, "--", ...paths]);
  };

/** The full commit `rev` names, if the directory is a clone that has it. */
export const resolveCommit = (root: string, rev: string): string | undefined =>
  git(root, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);

/**
 * The files under `dir` (repository-relative) as of `rev`, path → text; undefined when `rev`
 * does not exist (not a clone, no commit yet).
 */
export const filesAt = (
  root: string,
  rev: string,
  dir: string,
): Map<string, string> | undefined => {
  if (!resolveCommit(root, rev)) return undefined;
  const listed = git(root, ["ls-tree", "-r", "--name-only", rev, "--", dir]);
  const files = new Map<string, string>();
  for (const path of listed?.split("\n") ?? []) {
    try {
      files.set(
        path,
        execFileSync("git", ["-C", root, "show", `${rev}:${path}`], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          maxBuffer: 16 * 1024 * 1024,
        }),
      );
    } catch {
      // A submodule or a file that cannot be shown as text: not a definition.
    }
  }
  return files;
};

export interface BuildContext {
  readonly commit?: string;
  readonly ref?: string;
  readonly repository?: string;
}

export const buildContext = (root: string, env: NodeJS.ProcessEnv = process.env): BuildContext => {
  const commit = env.GITHUB_SHA || env.CI_COMMIT_SHA || git(root, ["rev-parse", "HEAD"]);
  const ref = env.GITHUB_REF || env.CI_COMMIT_REF_NAME || git(root, ["symbolic-ref", "-q", "HEAD"]);
  const repository =
    (env.GITHUB_REPOSITORY &&
      `${env.GITHUB_SERVER_URL || "https://github.com"}/${env.GITHUB_REPOSITORY}`) ||
    env.CI_PROJECT_URL ||
    git(root, ["config", "--get", "remote.origin.url"])?.replace(/\/\/[^@/]*@/, "//"); // no credentials
  return {
    ...(commit ? { commit } : {}),
    ...(ref ? { ref } : {}),
    ...(repository ? { repository } : {}),
  };
};
