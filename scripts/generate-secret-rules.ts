/**
 * Regenerates lib/redaction/secret-rules.json, the vendor token formats the redactor masks, from
 * gitleaks' default rule set (config/gitleaks.toml, MIT, © Zachary Rice; the licence is
 * lib/redaction/LICENSE.gitleaks). The JSON is committed, so neither tests nor Lambda read TOML;
 * run this when moving to a newer gitleaks release:
 *
 *   git clone --branch v8.30.1 https://github.com/gitleaks/gitleaks /tmp/gitleaks
 *   npx tsx scripts/generate-secret-rules.ts /tmp/gitleaks v8.30.1
 *
 * gitleaks' patterns are Go RE2. JavaScript (Node 22, Lambda's runtime) has no inline flags, so
 * each case-insensitive part is spelled out (`(?i)ab` becomes `[aA][bB]`), a leading `(?i)` over
 * the whole pattern becomes the `i` flag, `(?s)` dots become `[\s\S]`, `\z` becomes `$` and POSIX
 * classes become ranges. What cannot be converted is left out, listed in the JSON and printed.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(root, "lib/redaction/secret-rules.json");

/** Rules we leave out on purpose, and why. */
const LEFT_OUT: Record<string, string> = {
  "generic-api-key":
    "our own key=value rule and entropy rule cover it; its 1,446 stopwords would triple the data",
  "pkcs12-file": "a file-path rule: log text has no files",
  "curl-auth-header":
    "quadratic on a long line of `curl` (its .*? spans up to 6 lines); our own Authorization header rule covers it",
  "curl-auth-user":
    "quadratic on a long line of `curl`; our own `curl -u user:password` rule covers it",
};

/**
 * The lazy `[\w.-]{0,50}?` that opens about a hundred rules only widens the match before the key
 * name; the secret is a later group, so dropping it finds the same secrets, and saves trying 50
 * lengths at every position (seconds on a 200 KB log, for the nested form).
 */
const withoutLeadingPrefix = (pattern: string): string =>
  pattern
    .replace(/^(\(\?i\))?\[\\w\.-\]\{0,50\}\?/, "$1")
    .replace(/^\(\?i:\[\\w\.-\]\{0,50\}\?/, "(?i:");

type TomlValue = string | number | boolean | TomlValue[];
interface TomlTable {
  [key: string]: TomlValue | TomlTable | TomlTable[];
}

/**
 * The TOML gitleaks generates (tables, arrays of tables, strings, numbers, arrays), parsed;
 * anything else throws, so a format change is noticed rather than misread.
 */
const parseToml = (text: string): TomlTable => {
  const document: TomlTable = {};
  let table = document;
  let at = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, at).split("\n").length;
    throw new Error(`gitleaks.toml line ${line}: ${what}`);
  };
  const skip = () => {
    for (;;) {
      const match = /^(?:[ \t\r\n]+|#[^\n]*)/.exec(text.slice(at));
      if (!match || match[0] === "") return;
      at += match[0].length;
    }
  };
  const value = (): TomlValue => {
    skip();
    const rest = text.slice(at);
    const literal = /^'''([\s\S]*?)'''|^'([^'\n]*)'/.exec(rest);
    if (literal) {
      at += literal[0].length;
      return (literal[1] ?? literal[2]) as string;
    }
    const basic = /^"((?:[^"\\\n]|\\.)*)"/.exec(rest);
    if (basic) {
      at += basic[0].length;
      return JSON.parse(`"${basic[1]}"`) as string;
    }
    const scalar = /^(-?\d+(?:\.\d+)?|true|false)/.exec(rest);
    if (scalar) {
      at += scalar[0].length;
      return scalar[1] === "true" ? true : scalar[1] === "false" ? false : Number(scalar[1]);
    }
    if (rest.startsWith("[")) {
      at += 1;
      const items: TomlValue[] = [];
      for (;;) {
        skip();
        if (text[at] === "]") break;
        items.push(value());
        skip();
        if (text[at] === ",") at += 1;
        else if (text[at] !== "]") fail("expected , or ] in an array");
      }
      at += 1;
      return items;
    }
    return fail(`unsupported value ${JSON.stringify(rest.slice(0, 20))}`);
  };
  for (skip(); at < text.length; skip()) {
    const header = /^\[\[([\w.]+)\]\]|^\[([\w.]+)\]/.exec(text.slice(at));
    if (header) {
      at += header[0].length;
      const name = (header[1] ?? header[2]) as string;
      const path = name.split(".");
      let parent = document;
      for (const key of path.slice(0, -1)) {
        const node = parent[key];
        parent = (Array.isArray(node) ? node.at(-1) : node) as TomlTable;
        if (!parent) fail(`table ${name} before its parent`);
      }
      const last = path.at(-1) as string;
      table = {};
      if (header[1] !== undefined) {
        const list = (parent[last] ?? []) as TomlTable[];
        list.push(table);
        parent[last] = list;
      } else parent[last] = table;
      continue;
    }
    const key = /^([\w-]+)[ \t]*=/.exec(text.slice(at));
    if (!key) fail("expected a table or a key");
    at += (key as RegExpExecArray)[0].length;
    table[(key as RegExpExecArray)[1] as string] = value();
  }
  return document;
};

const POSIX: Record<string, string> = {
  alnum: "a-zA-Z0-9",
  alpha: "a-zA-Z",
  digit: "0-9",
  lower: "a-z",
  upper: "A-Z",
  space: "\\s",
  xdigit: "0-9a-fA-F",
  word: "\\w",
  punct: "!-\\/:-@\\[-`{-~",
};

const isLetter = (c: string) => /^[a-zA-Z]$/.test(c);
const bothCases = (c: string) => `${c.toLowerCase()}${c.toUpperCase()}`;

/** A character class's body with the other case of every letter and letter range added. */
const caseFoldClass = (body: string): string => {
  let extra = "";
  const range = /([a-zA-Z])-([a-zA-Z])/g;
  for (const [, from = "", to = ""] of body.matchAll(range)) {
    const [low, high] = [from.toLowerCase(), to.toLowerCase()];
    if (from.toLowerCase() === from && to.toLowerCase() === to)
      extra += `${low.toUpperCase()}-${high.toUpperCase()}`;
    else if (from.toUpperCase() === from && to.toUpperCase() === to) extra += `${low}-${high}`;
  }
  // Single letters not part of a range nor an escape (\w, \s, \x60 keep their meaning).
  const singles = body
    .replace(/\\x[0-9a-fA-F]{2}|\\./g, "")
    .replace(range, "")
    .split("")
    .filter(isLetter);
  for (const letter of singles) extra += bothCases(letter).replace(letter, "");
  return body + extra;
};

/**
 * One RE2 pattern as JavaScript source and flags, or why it cannot be. Walks the pattern with the
 * case-insensitive and dot-all flags each group sees, since JavaScript can only set them for a
 * whole pattern.
 */
const translateRe2 = (pattern: string): { source: string; flags: string } => {
  let body = pattern;
  let flags = "";
  // A leading (?i) over a pattern that never turns it off is the i flag.
  if (body.startsWith("(?i)") && !body.includes("(?-i")) {
    body = body.slice(4);
    flags = "i";
  }
  const stack: Array<{ ci: boolean; dotAll: boolean }> = [];
  let ci = false;
  let dotAll = false;
  let out = "";
  for (let i = 0; i < body.length; i += 1) {
    const c = body[i] as string;
    if (c === "\\") {
      const next = body[i + 1] ?? "";
      if (next === "z") out += "$";
      else if (next === "A") out += "^";
      else if (next === "Q" || next === "C" || next === "p" || next === "P")
        throw new Error(`\\${next} has no JavaScript equivalent here`);
      else if (next === "x" && body[i + 2] === "{") throw new Error("\\x{…} escapes");
      else if (next === "x") {
        out += body.slice(i, i + 4);
        i += 2;
      } else out += `\\${next}`;
      i += 1;
      continue;
    }
    if (c === "[") {
      let j = i + 1;
      if (body[j] === "^") j += 1;
      if (body[j] === "]") j += 1;
      let inner = "";
      for (; j < body.length && body[j] !== "]"; j += 1) {
        if (body[j] === "\\") {
          inner += body.slice(j, j + 2);
          j += 1;
        } else if (body.startsWith("[:", j)) {
          const end = body.indexOf(":]", j);
          const name = body.slice(j + 2, end);
          const posix = POSIX[name];
          if (!posix) throw new Error(`POSIX class [:${name}:]`);
          inner += posix;
          j = end + 1;
        } else inner += body[j];
      }
      if (j >= body.length) throw new Error("unterminated character class");
      const negated = body[i + 1] === "^";
      const open = negated ? "[^" : "[";
      const content = negated ? inner.slice(1) : inner;
      out += `${open}${ci ? caseFoldClass(content) : content}]`;
      i = j;
      continue;
    }
    if (c === "(") {
      const group = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(body.slice(i));
      if (body.startsWith("(?P<", i)) {
        stack.push({ ci, dotAll });
        out += "(";
        i = body.indexOf(">", i);
        continue;
      }
      if (group) {
        const [whole, on = "", off = "", end] = group;
        for (const flag of on + off)
          if (flag !== "i" && flag !== "s") throw new Error(`flag ${flag}`);
        const scoped: { ci: boolean; dotAll: boolean } = {
          ci: on.includes("i") ? true : off.includes("i") ? false : ci,
          dotAll: on.includes("s") ? true : off.includes("s") ? false : dotAll,
        };
        if (end === ")") {
          // (?i) alone: from here to the end of the enclosing group.
          ci = scoped.ci;
          dotAll = scoped.dotAll;
        } else {
          stack.push({ ci, dotAll });
          ci = scoped.ci;
          dotAll = scoped.dotAll;
          out += "(?:";
        }
        i += whole.length - 1;
        continue;
      }
      stack.push({ ci, dotAll });
      out += "(";
      continue;
    }
    if (c === ")") {
      const outer = stack.pop();
      if (!outer) throw new Error("unbalanced )");
      ({ ci, dotAll } = outer);
      out += ")";
      continue;
    }
    if (c === "." && dotAll) {
      out += "[\\s\\S]";
      continue;
    }
    if (c === "{" && !/^\{\d+(?:,\d*)?\}/.test(body.slice(i))) {
      out += "\\{";
      continue;
    }
    out += ci && isLetter(c) ? `[${bothCases(c)}]` : c;
  }
  new RegExp(out, `${flags}gd`);
  return { source: out, flags };
};

interface Allow {
  target?: "match" | "line";
  regexes?: Array<[string, string]>;
  stopwords?: string[];
}

const asStrings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);

const regexList = (patterns: string[]): Array<[string, string]> =>
  patterns.map((pattern) => {
    const { source, flags } = translateRe2(pattern);
    return [source, flags];
  });

/**
 * A rule's allowlists as redaction uses them: path and commit conditions never hold for log text,
 * so an allowlist that needs one (condition AND) never applies and one that has only those is
 * dropped.
 */
const allowlists = (tables: TomlTable[] | undefined): Allow[] =>
  (tables ?? []).flatMap((table): Allow[] => {
    const needsPath = table.condition === "AND" && (table.paths || table.commits);
    const regexes = asStrings(table.regexes);
    const stopwords = asStrings(table.stopwords);
    if (needsPath || (regexes.length === 0 && stopwords.length === 0)) return [];
    const target = table.regexTarget;
    return [
      {
        ...(target === "match" || target === "line" ? { target } : {}),
        ...(regexes.length ? { regexes: regexList(regexes) } : {}),
        ...(stopwords.length ? { stopwords } : {}),
      },
    ];
  });

const [checkout, version] = process.argv.slice(2);
if (!checkout || !version) {
  console.error("usage: tsx scripts/generate-secret-rules.ts <gitleaks checkout> <tag>");
  process.exit(2);
}
const commit = execFileSync("git", ["-C", checkout, "rev-parse", `${version}^{commit}`], {
  encoding: "utf8",
}).trim();
const toml = execFileSync("git", ["-C", checkout, "show", `${commit}:config/gitleaks.toml`], {
  encoding: "utf8",
});
const licence = execFileSync("git", ["-C", checkout, "show", `${commit}:LICENSE`], {
  encoding: "utf8",
});
const config = parseToml(toml);
const sourceRules = config.rules as TomlTable[];
const skipped: Array<{ id: string; reason: string }> = [];
const rules = sourceRules.flatMap((rule) => {
  const id = String(rule.id);
  const leftOut = LEFT_OUT[id];
  if (leftOut) {
    skipped.push({ id, reason: leftOut });
    return [];
  }
  try {
    if (typeof rule.regex !== "string") throw new Error("no regex");
    const { source, flags } = translateRe2(withoutLeadingPrefix(rule.regex));
    const allow = allowlists(rule.allowlists as TomlTable[] | undefined);
    return [
      {
        id,
        regex: source,
        ...(flags ? { flags } : {}),
        keywords: asStrings(rule.keywords).map((keyword) => keyword.toLowerCase()),
        ...(typeof rule.entropy === "number" ? { entropy: rule.entropy } : {}),
        ...(typeof rule.secretGroup === "number" ? { group: rule.secretGroup } : {}),
        ...(allow.length ? { allow } : {}),
      },
    ];
  } catch (error) {
    skipped.push({ id, reason: `not converted: ${(error as Error).message}` });
    return [];
  }
});
const global = config.allowlist as TomlTable;
const data = {
  catalogue: "gitleaks default rule set (config/gitleaks.toml)",
  source: `https://github.com/gitleaks/gitleaks/blob/${version}/config/gitleaks.toml`,
  version,
  commit,
  licence: "MIT",
  licenceFile: "LICENSE.gitleaks",
  generatedBy: "scripts/generate-secret-rules.ts",
  allow: {
    regexes: regexList(asStrings(global.regexes)),
    stopwords: asStrings(global.stopwords),
  },
  skipped,
  rules,
};
// Committed as the repo formats JSON; esbuild minifies it into the bundle either way.
writeFileSync(output, `${JSON.stringify(data, null, 2)}\n`);
execFileSync("npx", ["biome", "format", "--write", output], { cwd: root, stdio: "ignore" });
writeFileSync(join(root, "lib/redaction/LICENSE.gitleaks"), licence);
console.log(
  `${rules.length} of ${sourceRules.length} gitleaks ${version} rules written to ${output}`,
);
for (const { id, reason } of skipped) console.log(`  left out ${id}: ${reason}`);
