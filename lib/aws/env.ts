import { EnvironmentError } from "../errors.ts";

/**
 * Reads the environment variables a handler needs, once, and fails at cold start with the list
 * of what is missing instead of failing later with `undefined` somewhere deep.
 */
export const readEnv = <const K extends string>(
  names: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> => {
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new EnvironmentError(
      `missing environment variable${missing.length > 1 ? "s" : ""}: ${missing.join(", ")} (set by serverless.yml when deployed)`,
    );
  }
  return Object.fromEntries(names.map((name) => [name, env[name] as string])) as Record<K, string>;
};
