import { setTimeout as sleepFor } from "node:timers/promises";

export interface SlackPostOptions {
  /** Per-request timeout: a hanging Slack must not eat the Lambda's time. */
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  /** The longest Retry-After honoured; beyond it we give up rather than wait. */
  readonly maxRetryAfterMs?: number;
  readonly baseBackoffMs?: number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

export type SlackPostResult =
  | { readonly ok: true; readonly attempts: number }
  | { readonly ok: false; readonly attempts: number; readonly error: string };

/**
 * Posts a message to a Slack incoming webhook. 429 waits the `Retry-After` Slack sends; 5xx,
 * timeouts and network errors back off exponentially; other 4xx (a revoked webhook, invalid
 * blocks) fail at once. The URL is a secret: it never appears in the result or an error.
 */
export const postToSlack = async (
  url: string,
  payload: unknown,
  options: SlackPostOptions = {},
): Promise<SlackPostResult> => {
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? sleepFor;
  const base = options.baseBackoffMs ?? 250;
  let lastError = "not attempted";
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    let waitMs = base * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      const text = (await response.text()).slice(0, 200);
      if (response.ok) return { ok: true, attempts: attempt };
      lastError = `HTTP ${response.status}${text ? `: ${text}` : ""}`;
      if (response.status === 429) {
        const seconds = Number(response.headers.get("retry-after"));
        waitMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : waitMs;
        if (waitMs > (options.maxRetryAfterMs ?? 30_000)) {
          return {
            ok: false,
            attempts: attempt,
            error: `${lastError} (Retry-After ${seconds}s is too long to wait)`,
          };
        }
      } else if (response.status < 500) {
        return { ok: false, attempts: attempt, error: lastError };
      }
    } catch (error) {
      lastError =
        error instanceof Error && error.name === "TimeoutError"
          ? `no answer within ${options.timeoutMs ?? 5000} ms`
          : `network error: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
    }
    if (attempt < maxAttempts) await sleep(waitMs);
  }
  return { ok: false, attempts: maxAttempts, error: lastError };
};
