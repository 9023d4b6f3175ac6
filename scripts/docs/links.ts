/**
 * Relative links and `#anchors` in the repository's Markdown, checked the way GitHub renders them:
 * a link to a file must name a file or folder of the repository (never outside it), and an anchor
 * must be a heading of the target file (GitHub's slug, numbered when repeated) or an explicit
 * `<a id>`/`<a name>`. Links with a scheme (https:, mailto:) are not followed.
 */
import { dirname, posix } from "node:path";
import { fencedLines } from "./blocks.ts";

/**
 * GitHub's heading slug (github-slugger, which github.com's anchors follow): lowercase, remove
 * every character that is not a letter, mark, number, connector punctuation (`_`), space or
 * hyphen-minus, then one hyphen per space. Nothing is collapsed: "a & b" is "a--b".
 */
export const githubSlug = (text: string): string =>
  text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" };

/** A heading's text as GitHub renders it: code spans keep their content, markup goes. */
const renderedText = (markdown: string): string =>
  markdown
    .split(/(`+[^`]*`+)/)
    .map((part, index) => {
      if (index % 2 === 1) return part.replace(/^`+|`+$/g, "");
      return part
        .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
        .replace(/!?\[([^\]]*)\]\[[^\]]*\]/g, "$1")
        .replace(/<[^>]+>/g, "")
        .replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ENTITIES[name] ?? "")
        .replace(/\*+/g, "")
        .replace(/(^|[^\p{L}\p{N}_])_+(?=\S)/gu, "$1")
        .replace(/(?<=\S)_+(?=$|[^\p{L}\p{N}_])/gu, "");
    })
    .join("");

const ATX = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const EXPLICIT = /<a\s+(?:id|name)="([^"]+)"/g;

/** Every anchor a Markdown file offers, in order: headings (numbered when repeated), then explicit ones per line. */
export const anchorsOf = (markdown: string): Set<string> => {
  const anchors = new Set<string>();
  const lines = markdown.split("\n");
  const fenced = fencedLines(lines);
  const seen = new Map<string, number>();
  lines.forEach((line, index) => {
    if (fenced[index]) return;
    const heading = ATX.exec(line)?.[1];
    if (heading !== undefined) {
      const base = githubSlug(renderedText(heading));
      let slug = base;
      let count = seen.get(base) ?? 0;
      while (seen.has(slug)) {
        count += 1;
        slug = `${base}-${count}`;
      }
      seen.set(base, count);
      seen.set(slug, seen.get(slug) ?? 0);
      anchors.add(slug);
    }
    for (const match of line.matchAll(EXPLICIT)) if (match[1]) anchors.add(match[1]);
  });
  return anchors;
};

export interface Link {
  readonly target: string;
  /** 1-based. */
  readonly line: number;
}

const INLINE = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g;
const DEFINITION = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const HREF = /<(?:a|img)\s[^>]*?(?:href|src)="([^"]+)"/g;

/** The links of a Markdown file, outside code blocks and code spans. */
export const linksOf = (markdown: string): Link[] => {
  const links: Link[] = [];
  const lines = markdown.split("\n");
  const fenced = fencedLines(lines);
  lines.forEach((raw, index) => {
    if (fenced[index]) return;
    const line = raw.replace(/(`+)[^`]*?\1/g, "");
    const add = (target: string) =>
      links.push({ target: target.replace(/^<|>$/g, ""), line: index + 1 });
    const definition = DEFINITION.exec(line)?.[1];
    if (definition) add(definition);
    else for (const match of line.matchAll(INLINE)) if (match[1]) add(match[1]);
    for (const match of line.matchAll(HREF)) if (match[1]) add(match[1]);
  });
  return links;
};

export interface LinkProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface RepositoryFiles {
  /** A repository-relative path's text. */
  read(path: string): string;
  /** Whether a repository-relative path is a file or folder. */
  exists(path: string): boolean;
}

/** Every broken relative link and anchor of `files` (repository-relative Markdown paths). */
export const checkLinks = (files: readonly string[], repo: RepositoryFiles): LinkProblem[] => {
  const problems: LinkProblem[] = [];
  const anchors = new Map<string, Set<string>>();
  const anchorsIn = (path: string) => {
    let known = anchors.get(path);
    if (!known) {
      known = anchorsOf(repo.read(path));
      anchors.set(path, known);
    }
    return known;
  };
  for (const file of files) {
    for (const { target, line } of linksOf(repo.read(file))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue;
      const problem = (message: string) => problems.push({ file, line, message });
      const hash = target.indexOf("#");
      const pathPart = decodeURI(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const resolved = pathPart
        ? posix.normalize(posix.join(dirname(file), pathPart)).replace(/\/$/, "")
        : file;
      if (resolved === ".." || resolved.startsWith("../") || posix.isAbsolute(pathPart)) {
        problem(`${pathPart} points outside the repository`);
        continue;
      }
      if (!repo.exists(resolved)) {
        problem(`${resolved} does not exist`);
        continue;
      }
      if (anchor && resolved.endsWith(".md") && !anchorsIn(resolved).has(anchor))
        problem(`no heading or anchor "${anchor}" in ${resolved}`);
    }
  }
  return problems;
};
