import type { AwsCredentialIdentityProvider } from "@smithy/types";

/**
 * Settings every SDK client gets: adaptive retry (client-side rate limiting on top of the
 * standard exponential backoff) with a few more attempts than the default 3, because fan-out to
 * many targets is exactly when throttling happens.
 */
export const RETRY_SETTINGS = { retryMode: "adaptive", maxAttempts: 5 } as const;

export interface ClientOptions {
  region: string;
  credentials?: AwsCredentialIdentityProvider;
}

export const clientConfig = ({ region, credentials }: ClientOptions) => ({
  region,
  ...RETRY_SETTINGS,
  ...(credentials ? { credentials } : {}),
});

/**
 * Builds one client per key (region, account) and reuses it for the life of the container:
 * clients hold connection pools and the adaptive-retry token bucket, both worth keeping warm.
 */
export const memoizeClients = <C>(create: (options: ClientOptions) => C) => {
  const clients = new Map<string, C>();
  return (options: ClientOptions, cacheKey = options.region, prepare?: (client: C) => C): C => {
    let client = clients.get(cacheKey);
    if (!client) {
      client = create(options);
      if (prepare) client = prepare(client);
      clients.set(cacheKey, client);
    }
    return client;
  };
};

/** Lambda's own region; falls back for local runs. */
export const currentRegion = (env: NodeJS.ProcessEnv = process.env): string =>
  env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";

/** Per-region clients in the orchestrator's own account. */
export const regionalClients = <C>(
  create: (options: ClientOptions) => C,
): ((region: string) => C) => {
  const get = memoizeClients(create);
  return (region) => get({ region });
};
