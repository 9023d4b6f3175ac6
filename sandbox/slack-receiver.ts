import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the receiver answers next: a status (with headers), or a request that never answers. */
export type SlackBehaviour =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | { readonly hang: true };

/**
 * A loopback HTTP server standing in for a Slack incoming webhook (127.0.0.1, random port): it
 * records every message and answers as scripted (200 by default; 429 with Retry-After, 5xx, or a
 * hang for the failure paths).
 */
export class SlackReceiver {
  readonly messages: unknown[] = [];
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
    this.requests.push({ at: Date.now(), status: behaviour.status });
    if (behaviour.status === 200)
      this.messages.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    response.writeHead(behaviour.status, { "content-type": "text/plain", ...behaviour.headers });
    response.end(behaviour.body ?? (behaviour.status === 200 ? "ok" : "error"));
  }

  async close(): Promise<void> {
    for (const response of this.#hanging) response.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
