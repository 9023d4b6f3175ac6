import { afterEach, beforeEach } from "node:test";

/**
 * process.env as it is now; the function returned puts it back: variables set since are removed,
 * changed ones restored.
 */
export const snapshotEnv = (): (() => void) => {
  const saved = { ...process.env };
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
};

/**
 * Registers hooks that restore process.env after each test of the suite to what it was before
 * the test (what the suite's own `before` hooks set stays until the suite restores it).
 */
export const restoreEnvAfterEachTest = (): void => {
  let restore: (() => void) | undefined;
  beforeEach(() => {
    restore = snapshotEnv();
  });
  afterEach(() => {
    restore?.();
    restore = undefined;
  });
};
