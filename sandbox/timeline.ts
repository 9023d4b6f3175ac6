/** A terminal timeline: simulated time, account, region, who, what. Colours only on a TTY. */

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) =>
  useColour ? `\u001b[${code}m${text}\u001b[0m` : text;

export const colour = {
  dim: paint(2),
  bold: paint(1),
  green: paint(32),
  yellow: paint(33),
  red: paint(31),
  cyan: paint(36),
  magenta: paint(35),
};

export type Tone = "ok" | "warn" | "fail" | "info" | "aws";

const TONES: Record<Tone, (text: string) => string> = {
  ok: colour.green,
  warn: colour.yellow,
  fail: colour.red,
  info: (text) => text,
  aws: colour.cyan,
};

export class Timeline {
  readonly lines: string[] = [];

  constructor(
    private readonly now: () => number,
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {}

  heading(text: string): void {
    this.#print(`\n${colour.bold(text)}`);
  }

  event(
    where: { account?: string; region?: string },
    actor: string,
    text: string,
    tone: Tone = "info",
  ): void {
    const time = new Date(this.now()).toISOString().replace("T", " ").slice(0, 19);
    const row = [
      colour.dim(time),
      (where.account ?? "").padEnd(12),
      (where.region ?? "").padEnd(10),
      colour.magenta(actor.padEnd(16)),
      TONES[tone](text),
    ].join("  ");
    this.#print(row);
  }

  note(text: string): void {
    this.#print(colour.dim(`    ${text}`));
  }

  #print(line: string): void {
    this.lines.push(line);
    this.print(line);
  }
}
