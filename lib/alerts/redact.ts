/**
 * The one redactor for every text that leaves the account: Slack, email and the alerts
 * function's own logs. Build logs, step messages and Image Builder's failure reasons are
 * written by whoever wrote the recipe, so anything that looks like a secret is masked first.
 *
 * Why our own list rather than a maintained set: secretlint (MIT, maintained) is a linter, not a
 * redactor: an async rule engine over a source file that reports ranges, several packages in the
 * Lambda bundle, and its recommended rules still miss most of what build logs leak here
 * (`password=…` assignments, presigned-URL `X-Amz-*` parameters, a bare secret access key
 * without a key name next to it). The patterns below follow the token formats those rule sets
 * and the vendors document; each has a test named after the leak (test/unit/alerts/redact.test.ts).
 *
 * Works on whole texts, not lines: a private key spans lines, and so must its redaction.
 */

const MASK = "****";

/** A key name that announces a secret value: `db_password`, `aws_secret`, `api-key`, `Token`. */
const SECRET_KEY =
  /[\w.-]*(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[\w.-]*/
    .source;

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
  // Presigned S3/SigV4 URLs: the signature, the credential scope and the session token.
  [/\b(X-Amz-(?:Signature|Credential|Security-Token))=[^&\s"'<>`]+/gi, `$1=${MASK}`],
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
  // Credentials in URLs.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${MASK}:${MASK}@`],
  // A bare AWS secret access key: 40 characters of base64 standing alone. Mixed case is
  // required, so a 40-hex git commit id or checksum is left alone.
  [
    /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
    (candidate: string) => (/[A-Z]/.test(candidate) && /[a-z]/.test(candidate) ? MASK : candidate),
  ],
];

/** The text with every secret it recognises masked. Multi-line texts are redacted as a whole. */
export const redactSecrets = (text: string): string =>
  PATTERNS.reduce(
    (current, [pattern, replacement]) =>
      current.replace(pattern, replacement as (substring: string, ...args: string[]) => string),
    text,
  );

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
