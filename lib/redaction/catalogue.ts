import catalogue from "./secret-rules.json" with { type: "json" };

/**
 * Vendor token formats from a maintained catalogue, gitleaks' default rule set (MIT; version,
 * commit and licence recorded in secret-rules.json and LICENSE.gitleaks beside it), applied the
 * way gitleaks applies them: a rule runs only on a text holding one of its keywords, its secret
 * is its first non-empty group (or the whole match), a secret below the rule's Shannon entropy
 * or on an allowlist is not one. Regenerate with scripts/generate-secret-rules.ts.
 */

interface Allow {
  readonly target: "secret" | "match" | "line";
  readonly regexes: readonly RegExp[];
  readonly stopwords: readonly string[];
}

interface Rule {
  readonly id: string;
  readonly regex: RegExp;
  readonly keywords: readonly string[];
  readonly entropy?: number;
  readonly group?: number;
  readonly allow: readonly Allow[];
}

interface RawAllow {
  readonly target?: string;
  readonly regexes?: ReadonlyArray<readonly string[]>;
  readonly stopwords?: readonly string[];
}

const compile = ([source = "", flags = ""]: readonly string[], extra = ""): RegExp =>
  new RegExp(source, flags + extra);

const allowOf = (raw: RawAllow): Allow => ({
  target: raw.target === "match" || raw.target === "line" ? raw.target : "secret",
  regexes: (raw.regexes ?? []).map((pair) => compile(pair)),
  stopwords: raw.stopwords ?? [],
});

const GLOBAL_ALLOW = allowOf(catalogue.allow);

/** Compiled once per container, on first use. */
let rules: readonly Rule[] | undefined;
const compiled = (): readonly Rule[] => {
  rules ??= catalogue.rules.map((raw) => ({
    id: raw.id,
    regex: compile([raw.regex, "flags" in raw ? (raw.flags as string) : ""], "gd"),
    keywords: raw.keywords,
    ...("entropy" in raw ? { entropy: raw.entropy as number } : {}),
    ...("group" in raw ? { group: raw.group as number } : {}),
    allow: ("allow" in raw ? (raw.allow as RawAllow[]) : []).map(allowOf),
  }));
  return rules;
};

/** Shannon entropy in bits per character, as gitleaks computes it. */
export const shannonEntropy = (text: string): number => {
  if (text === "") return 0;
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const frequency = count / text.length;
    entropy -= frequency * Math.log2(frequency);
  }
  return entropy;
};

const lineAround = (text: string, start: number, end: number): string =>
  text.slice(
    text.lastIndexOf("\n", start - 1) + 1,
    (text.indexOf("\n", end) + 1 || text.length + 1) - 1,
  );

const allowed = (allow: Allow, secret: string, match: string, line: () => string): boolean => {
  const target = allow.target === "match" ? match : allow.target === "line" ? line() : secret;
  if (allow.regexes.some((regex) => regex.test(target))) return true;
  const lower = secret.toLowerCase();
  return allow.stopwords.some((word) => lower.includes(word));
};

/** Where the catalogue finds secrets in a text: [start, end) ranges, possibly overlapping. */
export const catalogueSecrets = (text: string): Array<readonly [number, number]> => {
  const lower = text.toLowerCase();
  const found: Array<readonly [number, number]> = [];
  for (const rule of compiled()) {
    if (rule.keywords.length > 0 && !rule.keywords.some((keyword) => lower.includes(keyword)))
      continue;
    rule.regex.lastIndex = 0;
    for (let match = rule.regex.exec(text); match; match = rule.regex.exec(text)) {
      if (match[0] === "") {
        rule.regex.lastIndex += 1;
        continue;
      }
      const indices = match.indices ?? [];
      const index =
        rule.group ?? match.findIndex((group, i) => i > 0 && group !== undefined && group !== "");
      const span = indices[Math.max(index, 0)];
      if (!span) continue;
      const secret = text.slice(span[0], span[1]);
      if (rule.entropy !== undefined && shannonEntropy(secret) <= rule.entropy) continue;
      const line = () => lineAround(text, match.index, match.index + match[0].length);
      if ([GLOBAL_ALLOW, ...rule.allow].some((allow) => allowed(allow, secret, match[0], line)))
        continue;
      found.push(span);
    }
  }
  return found;
};

/** The catalogue's provenance, for documentation and tests. */
export const CATALOGUE = {
  name: catalogue.catalogue,
  source: catalogue.source,
  version: catalogue.version,
  commit: catalogue.commit,
  licence: catalogue.licence,
  rules: catalogue.rules.length,
} as const;
