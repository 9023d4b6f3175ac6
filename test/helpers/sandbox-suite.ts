import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { loadConfig, parseConfig } from "../../lib/config/load.ts";
import type { OrchestratorConfig } from "../../lib/config/schema.ts";
import { type SandboxSession, startSandbox } from "../../sandbox/session.ts";
import { restoreEnvAfterEachTest, snapshotEnv } from "./env.ts";
import { repoPath } from "./fixtures.ts";

// The handlers log and emit metrics through Powertools: quiet unless asked (DEBUG_LOG_LEVEL).
process.env.POWERTOOLS_LOG_LEVEL = process.env.DEBUG_LOG_LEVEL ?? "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

type StartOptions = Parameters<typeof startSandbox>[1];

export interface SandboxSuite {
  /** The config the sandbox was built from and the handlers read. */
  readonly config: OrchestratorConfig;
  /** The running sandbox (from the suite's `before` on). */
  readonly session: SandboxSession;
}

/**
 * One sandbox for a test file or suite, registered as its before/after hooks: the config where
 * the handlers read it (ORCHESTRATOR_CONFIG: the repo's config/orchestrator.yml, or the given
 * YAML in a temporary directory removed afterwards), the sandbox started before the tests, then
 * `setUp`, and everything closed after them. process.env is restored after each test, and after
 * the suite to what it was before it.
 */
export const sandboxSuite = (
  yaml: string | undefined,
  options: StartOptions | ((config: OrchestratorConfig) => StartOptions),
  setUp?: (session: SandboxSession) => void | Promise<void>,
): SandboxSuite => {
  const config =
    yaml === undefined
      ? loadConfig(repoPath("config/orchestrator.yml"))
      : parseConfig(yaml, "test.yml");
  let session: SandboxSession | undefined;
  let dir: string | undefined;
  let restoreEnv: (() => void) | undefined;
  before(async () => {
    restoreEnv = snapshotEnv();
    if (yaml === undefined) process.env.ORCHESTRATOR_CONFIG = repoPath("config/orchestrator.yml");
    else {
      dir = mkdtempSync(join(tmpdir(), "ami-orchestrator-"));
      writeFileSync(join(dir, "orchestrator.yml"), yaml);
      process.env.ORCHESTRATOR_CONFIG = join(dir, "orchestrator.yml");
    }
    session = await startSandbox(config, typeof options === "function" ? options(config) : options);
    await setUp?.(session);
  });
  after(async () => {
    await session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    restoreEnv?.();
  });
  restoreEnvAfterEachTest();
  return {
    config,
    get session() {
      if (!session) throw new Error("the sandbox starts in the suite's before hook");
      return session;
    },
  };
};
