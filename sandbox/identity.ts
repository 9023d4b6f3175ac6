/**
 * Sandbox credentials carry their account in the access key id, the way a real key is tied to
 * an account, so the model knows which account a client is calling from.
 */
export const sandboxAccessKeyId = (accountId: string, session = "BASE"): string =>
  `ASIA${accountId}${session}`.slice(0, 32);

export const accountOfAccessKeyId = (accessKeyId: string): string | undefined =>
  /^ASIA(\d{12})/.exec(accessKeyId)?.[1];
