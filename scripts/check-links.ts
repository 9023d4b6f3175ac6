/**
 * `npm run check-links`: every relative link and `#anchor` in README.md and docs/**\/*.md
 * resolves (GitHub's heading slugs; scripts/docs/links.ts). Exit 1 listing each broken one.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { markdownFiles } from "./docs/files.ts";
import { checkLinks } from "./docs/links.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

const files = markdownFiles(root);
const problems = checkLinks(files, {
  read: (path) => readFileSync(join(root, path), "utf8"),
  exists: (path) => existsSync(join(root, path)),
});
for (const problem of problems)
  console.error(`${problem.file}:${problem.line}: ${problem.message}`);
if (problems.length > 0) {
  console.error(`${problems.length} broken link(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`links: every relative link and anchor in ${files.length} file(s) resolves`);
