import { existsSync, readdirSync, statSync } from "node:fs";
import { join, posix } from "node:path";

/** The Markdown the docs tools cover: README.md and every .md under docs/, repository-relative. */
export const markdownFiles = (root: string): string[] => {
  const walk = (dir: string): string[] =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir)).flatMap((name) => {
          const path = posix.join(dir, name);
          if (statSync(join(root, path)).isDirectory()) return walk(path);
          return name.endsWith(".md") ? [path] : [];
        })
      : [];
  return ["README.md", ...walk("docs").sort()];
};
