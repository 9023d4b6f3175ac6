/**
 * Build logs go to Slack and email: anything that looks like a secret is masked first. Patterns
 * cover AWS keys, tokens in URLs and headers, private keys and `password=`-style assignments.
 */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(AKIA|ASIA)[A-Z0-9]{12,}\b/g, "$1****"],
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    "[private key redacted]",
  ],
  [/\b(authorization|x-amz-security-token)(\s*[:=]\s*).*/gi, "$1$2****"],
  [/\bbearer\s+\S+/gi, "Bearer ****"],
  [
    /\b([\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)[\w.-]*)(\s*[:=]\s*)("[^"]*"|'[^']*'|\S+)/gi,
    "$1$2****",
  ],
  [/(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1****:****@"],
  [/\bhooks\.slack\.com\/services\/\S+/g, "hooks.slack.com/services/****"],
];

export const redactSecrets = (line: string): string =>
  PATTERNS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), line);
