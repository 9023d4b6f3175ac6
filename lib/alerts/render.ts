import type { AlertStory } from "./describe.ts";
import { redactLines, redactSecrets } from "./redact.ts";

/** Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks). */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const BUTTON_TEXT_MAX = 75;
const MAX_BUTTONS = 5;
/** SNS email subjects must be under 100 characters. */
export const SUBJECT_MAX = 99;
/** One log line, a fact's value, a paragraph (why, a detail): longer is cut, the start kept. */
export const LOG_LINE_MAX = 400;
const VALUE_MAX = 300;
const PARAGRAPH_MAX = 1500;
/** The whole log excerpt and the whole email body: a 50 KB log line cannot make a huge email. */
export const LOG_TOTAL_MAX = 4000;
export const EMAIL_MAX = 12_000;
/** Texts longer than this are cut before redaction, so patterns never scan megabytes. */
const SCAN_MAX = 20_000;

export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/**
 * ANSI/VT escape sequences (CSI, OSC, two-character escapes), other C0/C1 control characters
 * and Unicode bidi overrides: terminal colour codes and spoofed text never reach a channel.
 */
const ESCAPE_SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]/g;
const CONTROL_CHARACTERS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Printable text only: escapes and control characters removed, tabs as spaces, LF line ends. */
export const stripControl = (text: string): string =>
  text
    .replace(ESCAPE_SEQUENCES, "")
    .replace(/\r\n?/g, "\n")
    .replace(/\t/g, "  ")
    .replace(CONTROL_CHARACTERS, "");

/** One clean line: controls stripped, line breaks as spaces, secrets redacted. */
const cleanLine = (text: string): string =>
  redactSecrets(stripControl(text.slice(0, SCAN_MAX)).replace(/\n+/g, " "));

/**
 * The story as it may leave the account: every text stripped of control characters, redacted
 * (the one redactor, lib/alerts/redact.ts) and cut to size. Both channels render only this.
 */
export const safeStory = (story: AlertStory): AlertStory => {
  const log = story.log
    ? redactLines(story.log.map((line) => stripControl(line.slice(0, SCAN_MAX)).trimEnd()))
        .flatMap((line) => line.split("\n"))
        .map((line) => truncate(line, LOG_LINE_MAX))
    : undefined;
  // The last lines matter most (the error is at the end): keep those that fit the total.
  const kept: string[] = [];
  let size = 0;
  for (const line of [...(log ?? [])].reverse()) {
    if (size + line.length + 1 > LOG_TOTAL_MAX) break;
    kept.unshift(line);
    size += line.length + 1;
  }
  return {
    severity: story.severity,
    title: truncate(cleanLine(story.title), VALUE_MAX),
    facts: story.facts.map(([label, value]) => [
      truncate(cleanLine(label), VALUE_MAX),
      truncate(cleanLine(value), VALUE_MAX),
    ]),
    ...(story.why === undefined ? {} : { why: truncate(cleanLine(story.why), PARAGRAPH_MAX) }),
    details: story.details.map((detail) => truncate(cleanLine(detail), PARAGRAPH_MAX)),
    ...(kept.length > 0 ? { log: kept } : {}),
    links: story.links.map(([label, url]) => [truncate(cleanLine(label), VALUE_MAX), url]),
  };
};

const EMOJI: Record<AlertStory["severity"], string> = {
  failure: ":red_circle:",
  warning: ":large_orange_circle:",
  info: ":large_blue_circle:",
};

/**
 * Slack treats &, < and > as control characters in all text (`<!channel>`, `<url|label>`) and
 * asks for exactly these three to be escaped as HTML entities
 * (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
export const escapeSlack = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** mrkdwn has no escape for backticks: a run of three would open or close a code block. */
const neutraliseFences = (text: string) => text.replace(/`{3,}/g, (run) => "ˋ".repeat(run.length));

const mrkdwn = (text: string) => neutraliseFences(escapeSlack(text));

/**
 * The last lines that fit a code block in one section, oldest first. Inside the block every
 * backtick becomes a look-alike (ˋ), so no line can close the fence early.
 */
const codeBlock = (lines: readonly string[]): string => {
  const budget = SECTION_MAX - 8;
  const kept: string[] = [];
  let size = 0;
  for (const line of [...lines].reverse()) {
    const escaped = truncate(escapeSlack(line).replace(/`/g, "ˋ"), budget);
    if (size + escaped.length + 1 > budget) break;
    kept.unshift(escaped);
    size += escaped.length + 1;
  }
  return `\`\`\`${kept.join("\n")}\`\`\``;
};

/** A Block Kit message: header, facts, why, details, log excerpt, console buttons. */
export const renderSlack = (unsafe: AlertStory) => {
  const story = safeStory(unsafe);
  const blocks: Array<Record<string, unknown>> = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: truncate(`${EMOJI[story.severity]} ${escapeSlack(story.title)}`, HEADER_MAX),
        emoji: true,
      },
    },
    {
      type: "section",
      fields: story.facts.slice(0, 10).map(([label, value]) => ({
        type: "mrkdwn",
        text: truncate(`*${mrkdwn(label)}*\n${mrkdwn(value)}`, FIELD_MAX),
      })),
    },
  ];
  if (story.why) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Why:* ${mrkdwn(story.why)}`, SECTION_MAX) },
    });
  }
  if (story.details.length > 0) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: truncate(story.details.map(mrkdwn).join("\n"), SECTION_MAX),
      },
    });
  }
  if (story.log?.length) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: codeBlock(story.log) } });
  }
  if (story.links.length > 0) {
    blocks.push({
      type: "actions",
      elements: story.links.slice(0, MAX_BUTTONS).map(([label, url], index) => ({
        type: "button",
        action_id: `open-${index}`,
        text: { type: "plain_text", text: truncate(escapeSlack(label), BUTTON_TEXT_MAX) },
        url,
      })),
    });
  }
  // `text` is the notification and screen-reader fallback: escaped like every other text, and
  // one line (the title is already cleaned of line breaks by safeStory).
  return { text: truncate(escapeSlack(story.title), SECTION_MAX), blocks };
};

/** The same facts as plain text for the email topic, and a subject under 100 characters. */
export const renderEmail = (unsafe: AlertStory): { subject: string; body: string } => {
  const story = safeStory(unsafe);
  const width = Math.max(...story.facts.map(([label]) => label.length));
  const lines = [
    story.title,
    "",
    ...story.facts.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`),
    ...(story.why ? ["", `Why: ${story.why}`] : []),
    ...(story.details.length > 0 ? ["", ...story.details] : []),
    ...(story.log?.length
      ? ["", "Last lines of the build log:", ...story.log.map((line) => `  ${line}`)]
      : []),
    ...(story.links.length > 0
      ? ["", ...story.links.map(([label, url]) => `${label}: ${url}`)]
      : []),
    "",
    "-- ami-orchestrator",
  ];
  // Subjects must be ASCII without line breaks.
  const subject = truncate(
    `[ami-orchestrator] ${story.title}`.replace(/[^\x20-\x7e]/g, "?"),
    SUBJECT_MAX,
  );
  return { subject, body: truncate(lines.join("\n"), EMAIL_MAX) };
};
