/**
 * The one redactor for every text that leaves the account: Slack, email and every function's
 * logs. Build logs, step messages, Image Builder's failure reasons, Auto Scaling's status
 * messages and rejected events are written by others, so anything that looks like a secret is
 * masked first.
 *
 * Three layers, each with a test per format (test/unit/redaction/redact.test.ts):
 * - our own rules below, for what build logs leak that no vendor catalogue names: `key=value`
 *   assignments, password flags of login commands, presigned-URL and SAS signatures, private key
 *   blocks, credentials in URLs, connection-string keys;
 * - vendor token formats from gitleaks' maintained rule set, kept as data (catalogue.ts);
 * - an entropy rule for long random tokens nothing names (entropy.ts).
 * Invisible characters (zero-width, BOM, soft hyphen, bidi controls) are removed first, so
 * `pass\u200bword=` is `password=`.
 *
 * Works on whole texts, not lines: a private key spans lines, and so must its redaction.
 */
import { catalogueSecrets } from "./catalogue.ts";
import { highEntropySecrets, MAX_WORDY_SHARE, wordyShare } from "./entropy.ts";

const MASK = "****";

/**
 * A key name that announces a secret value: `db_password`, `aws_secret`, `api-key`, `Token`,
 * and the keys of connection strings (`AccountKey`, `SharedAccessKey`).
 */
const SECRET_KEY =
  /(?<![\w.-])[\w.-]{0,60}?(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|account[_-]?key|private[_-]?key|credentials?|sharedaccesssignature)[\w.-]{0,60}/
    .source;

/** A command-line value: a word, or a quoted string. */
const ARGUMENT = /("[^"\r\n]*"|'[^'\r\n]*'|[^\s"'`]+)/.source;

/**
 * Commands whose `-p` is a password (registry logins, sshpass), so `mkdir -p`, `cp -p`,
 * `ssh -p 22` and `docker run -p 80:80` keep theirs.
 */
const LOGIN_COMMAND =
  /\b(?:(?:docker|podman|buildah|nerdctl|skopeo|oras|helm(?:\s+registry)?|crane(?:\s+auth)?)\s+login|sshpass)\b/
    .source;

/** Zero-width characters, the byte-order mark, the soft hyphen and bidi controls. */
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/g;

const PATTERNS: ReadonlyArray<readonly [RegExp, string | ((...groups: string[]) => string)]> = [
  // Private keys (PEM, OpenSSH, PGP): the whole block, across lines. Without an END line (the
  // log was cut) everything after BEGIN goes; an END without its BEGIN (the excerpt starts
  // mid-key) takes everything before it.
  [
    /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    "[private key redacted]",
  ],
  [/^[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g, "[private key redacted]"],
  // Slack incoming webhooks (and workflow triggers): the path is the secret.
  [
    /\bhooks\.slack(?:-gov)?\.com\/(services|workflows|triggers)\/[^\s"'<>`]+/g,
    `hooks.slack.com/$1/${MASK}`,
  ],
  // Presigned S3/SigV4 URLs: the signature, the credential scope and the session token; Azure
  // SAS and CloudFront signed URLs: the signature.
  [/\b(X-Amz-(?:Signature|Credential|Security-Token))=[^&\s"'<>`]+/gi, `$1=${MASK}`],
  [/([?&;](?:sig|Signature))=[^&\s"'<>`]+/g, `$1=${MASK}`],
  // Password flags: `--password x` anywhere, `-p x` only after a login command, mysql's `-px`.
  [
    new RegExp(`((?<![\\w-])--(?:[\\w-]{0,40}-)?(?:password|passwd)\\s+)(?!-)${ARGUMENT}`, "gi"),
    `$1${MASK}`,
  ],
  [new RegExp(`(${LOGIN_COMMAND}[^\\n]{0,200}?\\s-p\\s+)(?!-)${ARGUMENT}`, "g"), `$1${MASK}`],
  [
    /(\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mariadb|mariadb-dump)\b[^\n]{0,200}?\s-p)(?=[^\s-])[^\s"'`]+/g,
    `$1${MASK}`,
  ],
  // `curl -u user:password`: the password.
  [/(\s(?:-u|--user)\s+[^\s:"']+:)[^\s"'`]+/g, `$1${MASK}`],
  // Headers carrying credentials, to the end of the line.
  [/\b(authorization|x-amz-security-token|x-api-key|cookie)(\s*:\s*)[^\r\n]+/gi, `$1$2${MASK}`],
  [/\bbearer\s+[^\s"']+/gi, `Bearer ${MASK}`],
  // GitHub tokens: classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained.
  [/\bgh[pousr]_[A-Za-z0-9]{20,255}\b/g, `gh_${MASK}`],
  [/\bgithub_pat_[A-Za-z0-9_]{20,255}\b/g, `github_pat_${MASK}`],
  // Slack tokens: bot, user, app-level, configuration, refresh, legacy.
  [/\bxox[abposr]-[A-Za-z0-9-]{8,}/g, `xox-${MASK}`],
  [/\bxapp-[A-Za-z0-9-]{8,}/g, `xapp-${MASK}`],
  // AWS access key ids (long-term AKIA, temporary ASIA): the id alone is not the secret, but it
  // names a principal and usually travels with one.
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, `$1${MASK}`],
  // `key=value`, `key: value`, `"key": "value"` with a secret-looking key name.
  [
    new RegExp(
      `(${SECRET_KEY})(["']?\\s*[:=]\\s*)("(?:[^"\\\\\\r\\n]|\\\\.)*"|'[^'\\r\\n]*'|[^\\s,;&}\\]"']+)`,
      "gi",
    ),
    (_match: string, key: string, separator: string, value: string) =>
      `${key}${separator}${value.startsWith('"') ? `"${MASK}"` : value.startsWith("'") ? `'${MASK}'` : MASK}`,
  ],
  // Credentials in URLs, also with an empty user name (`redis://:password@host`).
  [
    /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}:\/\/)[^/\s:@]{0,200}:[^/\s@]{1,200}@/gi,
    `$1${MASK}:${MASK}@`,
  ],
];

/**
 * A bare AWS secret access key: 40 characters of base64 standing alone. Mixed case is required,
 * so a 40-hex git commit id or checksum is left alone, and so is a 40-letter identifier made of
 * words. Found as ranges like the catalogue's, so a 40-character stretch inside a longer vendor
 * token is masked with it, not before it.
 */
const BARE_SECRET_KEY = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const bareSecretKeys = (text: string): Array<readonly [number, number]> =>
  [...text.matchAll(BARE_SECRET_KEY)]
    .filter(
      ([candidate]) =>
        /[A-Z]/.test(candidate) &&
        /[a-z]/.test(candidate) &&
        wordyShare(candidate) < MAX_WORDY_SHARE,
    )
    .map((match) => [match.index, match.index + 40] as const);

/** Texts shorter than this hold no secret a pattern could tell from its surroundings. */
const SHORTEST = 6;

const ownRules = (text: string): string =>
  PATTERNS.reduce(
    (current, [pattern, replacement]) =>
      current.replace(pattern, replacement as (substring: string, ...args: string[]) => string),
    text,
  );

/** The text with the given [start, end) ranges (overlapping or not) masked. */
const maskRanges = (text: string, ranges: Array<readonly [number, number]>): string => {
  if (ranges.length === 0) return text;
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let out = "";
  let at = 0;
  for (const [start, end] of sorted) {
    if (end <= at) continue;
    out += text.slice(at, Math.max(at, start)) + MASK;
    at = end;
  }
  return out + text.slice(at);
};

/** The text with every secret it recognises masked. Multi-line texts are redacted as a whole. */
export const redactSecrets = (text: string): string => {
  if (text.length < SHORTEST) return text;
  const own = ownRules(text.replace(INVISIBLE, ""));
  return maskRanges(own, [
    ...catalogueSecrets(own),
    ...bareSecretKeys(own),
    ...highEntropySecrets(own, (decoded) => redactSecrets(decoded) !== decoded),
  ]);
};

/** Lines redacted together, so a secret spanning lines (a private key) is caught. */
export const redactLines = (lines: readonly string[]): string[] =>
  redactSecrets(lines.join("\n")).split("\n");

/** Every string in a JSON-like value, redacted (for structured log entries). */
export const redactDeep = (value: unknown, depth = 0): unknown => {
  if (typeof value === "string") return redactSecrets(value);
  if (depth > 20 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, redactDeep(item, depth + 1)]),
  );
};
