import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver answers next: a status (with headers), or a request that never answers. */
export type SlackBehaviour =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | { readonly hang: true };

/**
 * Why Slack would refuse a message with 400 `invalid_blocks` (or `no_text`), or undefined. Checks
 * the Block Kit limits our messages come near (https://api.slack.com/reference/block-kit/blocks:
 * header text 150 characters, section text 1 to 3000, at most 10 fields of 2000, button text 75;
 * https://api.slack.com/reference/block-kit/composition-objects#text: text at least 1 character).
 */
export const blockKitProblem = (message: unknown): string | undefined => {
  const { text, blocks = [] } = message as { text?: unknown; blocks?: unknown[] };
  if (typeof text !== "string" && blocks.length === 0) return "no_text";
  const textOf = (object: unknown, max: number, where: string) => {
    const value = (object as { text?: unknown } | undefined)?.text;
    if (typeof value !== "string" || value.length < 1 || value.length > max)
      return `invalid_blocks: ${where} text must be 1 to ${max} characters`;
    return undefined;
  };
  const sectionProblem = (block: Record<string, unknown>, where: string) => {
    const fields = block.fields as unknown[] | undefined;
    if (block.text === undefined && fields === undefined)
      return `invalid_blocks: ${where} needs text or fields`;
    if (block.text !== undefined) {
      const problem = textOf(block.text, 3000, where);
      if (problem) return problem;
    }
    if (fields && fields.length > 10) return `invalid_blocks: ${where} has more than 10 fields`;
    return fields?.map((field, i) => textOf(field, 2000, `${where}.fields[${i}]`)).find(Boolean);
  };
  for (const [index, block] of (blocks as Array<Record<string, unknown>>).entries()) {
    const where = `blocks[${index}]`;
    let problem: string | undefined;
    if (block.type === "header") problem = textOf(block.text, 150, where);
    else if (block.type === "section") problem = sectionProblem(block, where);
    else if (block.type === "actions")
      problem = (block.elements as Array<{ text?: unknown }>)
        .map((element, i) => textOf(element.text, 75, `${where}.elements[${i}]`))
        .find(Boolean);
    if (problem) return problem;
  }
  return undefined;
};

/**
 * A loopback HTTP server standing in for a Slack incoming webhook (127.0.0.1, random port): it
 * records every message and answers as scripted (200 by default; 429 with Retry-After, 5xx, or a
 * hang for the failure paths).
 */
export class SlackReceiver {
  readonly messages: unknown[] = [];
  /** Messages refused as Slack would refuse them, with why. */
  readonly rejected: Array<{ message: unknown; problem: string }> = [];
  readonly requests: Array<{ at: number; status: number | "hang" }> = [];
  readonly #script: SlackBehaviour[] = [];
  readonly #hanging: ServerResponse[] = [];
  readonly #server = createServer((request, response) => this.#handle(request, response));
  url = "";

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/services/T000/B000/sandbox`;
    return this;
  }

  /** The next answers, in order; afterwards 200 again. */
  script(...behaviours: SlackBehaviour[]): void {
    this.#script.push(...behaviours);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const behaviour = this.#script.shift() ?? { status: 200, body: "ok" };
    if ("hang" in behaviour) {
      this.requests.push({ at: Date.now(), status: "hang" });
      this.#hanging.push(response);
      return;
    }
    const message: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    // Slack refuses a malformed message whatever else it would have answered.
    const problem = behaviour.status === 200 ? blockKitProblem(message) : undefined;
    if (problem) {
      this.requests.push({ at: Date.now(), status: 400 });
      this.rejected.push({ message, problem });
      response.writeHead(400, { "content-type": "text/plain" });
      response.end(problem.split(":")[0]);
      return;
    }
    this.requests.push({ at: Date.now(), status: behaviour.status });
    if (behaviour.status === 200) this.messages.push(message);
    response.writeHead(behaviour.status, { "content-type": "text/plain", ...behaviour.headers });
    response.end(behaviour.body ?? (behaviour.status === 200 ? "ok" : "error"));
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
