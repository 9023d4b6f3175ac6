import { type ClientOptions, memoizeClients } from "./clients.ts";
import { type AssumedRoleCredentials, reassumeOnExpiredCredentials } from "./credentials.ts";

/** A target account as the config declares it. */
export interface TargetAccount {
  readonly id: string;
  readonly roleName: string;
  readonly externalId: string;
}

/**
 * For one SDK client type, one client per target account and region, signed with the account's
 * assumed role. The credentials are cached once per role and shared by every client of the
 * account; the clients live as long as the container.
 */
export const targetAccountClients =
  (credentials: AssumedRoleCredentials, sessionLabel: string) =>
  <C>(create: (options: ClientOptions) => C) => {
    const get = memoizeClients(create);
    return (account: TargetAccount, region: string): C => {
      const role = {
        accountId: account.id,
        roleName: account.roleName,
        externalId: account.externalId,
      };
      return get(
        { region, credentials: credentials.provider(role, sessionLabel) },
        `${account.id}|${region}`,
        // Expired credentials are dropped and the call retried once with new ones.
        (client) => reassumeOnExpiredCredentials(client, credentials, role),
      );
    };
  };
