import type { AlertStory } from "./describe.ts";

/** Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks). */
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const BUTTON_TEXT_MAX = 75;
const MAX_BUTTONS = 5;
/** SNS email subjects must be under 100 characters. */
export const SUBJECT_MAX = 99;

export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

const EMOJI: Record<AlertStory["severity"], string> = {
  failure: ":red_circle:",
  warning: ":large_orange_circle:",
  info: ":large_blue_circle:",
};

/** Slack's mrkdwn reserves &, < and >. */
const escapeMrkdwn = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The last lines that fit a code block in one section, oldest first. */
const codeBlock = (lines: readonly string[]): string => {
  const budget = SECTION_MAX - 8;
  const kept: string[] = [];
  let size = 0;
  for (const line of [...lines].reverse()) {
    const escaped = escapeMrkdwn(line);
    if (size + escaped.length + 1 > budget) break;
    kept.unshift(escaped);
    size += escaped.length + 1;
  }
  return `\`\`\`${kept.join("\n")}\`\`\``;
};

/** A Block Kit message: header, facts, why, details, log excerpt, console buttons. */
export const renderSlack = (story: AlertStory) => {
  const blocks: Array<Record<string, unknown>> = [
    {
      type: "header",
      text: {
        type: "plain_text",
        text: truncate(`${EMOJI[story.severity]} ${story.title}`, HEADER_MAX),
        emoji: true,
      },
    },
    {
      type: "section",
      fields: story.facts.slice(0, 10).map(([label, value]) => ({
        type: "mrkdwn",
        text: truncate(`*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`, FIELD_MAX),
      })),
    },
  ];
  if (story.why) {
    blocks.push({
      type: "section",
      text: { type: "mrkdwn", text: truncate(`*Why:* ${escapeMrkdwn(story.why)}`, SECTION_MAX) },
    });
  }
  if (story.details.length > 0) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: truncate(story.details.map(escapeMrkdwn).join("\n"), SECTION_MAX),
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
        text: { type: "plain_text", text: truncate(label, BUTTON_TEXT_MAX) },
        url,
      })),
    });
  }
  // `text` is the notification and screen-reader fallback.
  return { text: truncate(story.title, SECTION_MAX), blocks };
};

/** The same facts as plain text for the email topic, and a subject under 100 characters. */
export const renderEmail = (story: AlertStory): { subject: string; body: string } => {
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
  return { subject, body: lines.join("\n") };
};
