import { shannonEntropy } from "./catalogue.ts";

/**
 * Long random tokens no rule names: a token is masked when it is long, mixes upper case, lower
 * case and digits the way random text does (no long run of one case, as words and identifiers
 * have), and carries close to the entropy of random base64. What build logs are full of stays:
 * hex (commit ids, checksums, UUIDs, instance and AMI ids), ARNs and paths (cut at `:` and `.`,
 * and made of words), and base64 that decodes to plain text with no secret in it.
 */

/** Shorter tokens are too often ids; 32 characters holds most API keys and tokens. */
const MIN_LENGTH = 32;
/** Bits per character: random base62/64 tokens of 32+ characters sit above 4.4. */
const MIN_ENTROPY = 4.2;
/** A run of one case longer than this is a word, not randomness. */
const MAX_CASE_RUN = 11;
/**
 * Identifiers and paths are words (`AWSServiceRoleForAutoScaling`, `builds/WebApp/stdout`): when
 * this share of a token is runs of 3+ lower-case letters, it is words, not randomness (random
 * base62 has about 0.15, above 0.5 one time in 500).
 */
export const MAX_WORDY_SHARE = 0.5;

const TOKEN = /(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{32,}(?![A-Za-z0-9+/=_-])/g;
const HEX_OR_UUID = /^[0-9a-fA-F-]+$/;
const LONG_CASE_RUN = new RegExp(`[a-z]{${MAX_CASE_RUN + 1}}|[A-Z]{${MAX_CASE_RUN + 1}}`);

/** The share of a token that is runs of 3+ lower-case letters: words, not randomness. */
export const wordyShare = (token: string): number =>
  [...token.matchAll(/[a-z]{3,}/g)].reduce((sum, [run]) => sum + run.length, 0) / token.length;

/** Base64 that decodes to printable text: the text itself, else undefined. */
const decodedText = (token: string): string | undefined => {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token) || token.length % 4 === 1) return undefined;
  const decoded = Buffer.from(token, "base64").toString("latin1");
  const printable = decoded.replace(/[^\x20-\x7e\t\r\n]/g, "").length;
  return printable >= decoded.length * 0.95 ? decoded : undefined;
};

const looksRandom = (token: string): boolean =>
  token.length >= MIN_LENGTH &&
  !HEX_OR_UUID.test(token) &&
  /[A-Z]/.test(token) &&
  /[a-z]/.test(token) &&
  /[0-9]/.test(token) &&
  !LONG_CASE_RUN.test(token) &&
  wordyShare(token) < MAX_WORDY_SHARE &&
  shannonEntropy(token) >= MIN_ENTROPY;

/**
 * [start, end) ranges of high-entropy tokens. Encoded text is judged by what it says: masked only
 * if `hasSecret` finds a secret in the decoded text.
 */
export const highEntropySecrets = (
  text: string,
  hasSecret: (decoded: string) => boolean,
): Array<readonly [number, number]> => {
  const found: Array<readonly [number, number]> = [];
  for (const match of text.matchAll(TOKEN)) {
    const token = match[0];
    const decoded = decodedText(token);
    const secret = decoded === undefined ? looksRandom(token) : hasSecret(decoded);
    if (secret) found.push([match.index, match.index + token.length]);
  }
  return found;
};
