import * as imagebuilder from "@aws-sdk/client-imagebuilder";
import { mockClient } from "aws-sdk-client-mock";
import { accountOfAccessKeyId, sandboxAccessKeyId } from "./identity.ts";
import type { SandboxWorld } from "./model/world.ts";

/** SDK packages the sandbox intercepts, with the service name the model uses. */
const SDK_PACKAGES = [
  { service: "imagebuilder", module: imagebuilder, client: imagebuilder.ImagebuilderClient },
];

interface ResolvedClientConfig {
  region: () => Promise<string>;
  credentials: (() => Promise<{ accessKeyId: string }>) | { accessKeyId: string };
}

const identityOf = async (client: unknown, world: SandboxWorld) => {
  const config = (client as { config: ResolvedClientConfig }).config;
  const region = await config.region();
  const credentials =
    typeof config.credentials === "function" ? await config.credentials() : config.credentials;
  const accountId = accountOfAccessKeyId(credentials.accessKeyId) ?? world.orchestratorAccountId;
  return { region, accountId };
};

export interface InstalledSandbox {
  restore(): void;
}

/**
 * Routes every command of every intercepted SDK client to the world model, using
 * aws-sdk-client-mock, and gives the process credentials for the orchestrator account. The real
 * handlers run unchanged: they build their clients as in Lambda and never know.
 */
export const installSandbox = (world: SandboxWorld): InstalledSandbox => {
  const previousEnv = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = sandboxAccessKeyId(world.orchestratorAccountId);
  process.env.AWS_SECRET_ACCESS_KEY = "sandbox-secret";
  process.env.AWS_SESSION_TOKEN = "sandbox-session";
  process.env.AWS_REGION = world.orchestratorRegion;
  // The sandbox runs on the Node 20 of the dev machine; Lambda runs 22.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

  const stubs: Array<{ restore(): void }> = [];
  for (const { service, module, client } of SDK_PACKAGES) {
    const stub = mockClient(client);
    for (const [name, value] of Object.entries(module)) {
      if (!name.endsWith("Command") || typeof value !== "function") continue;
      const operation = name.slice(0, -"Command".length);
      stub
        // biome-ignore lint/suspicious/noExplicitAny: commands of one client share no useful type here.
        .on(value as any)
        .callsFake(async (input: Record<string, unknown>, getClient: () => unknown) => {
          const identity = await identityOf(getClient(), world);
          return world.call({ service, operation, input, ...identity });
        });
    }
    stubs.push(stub);
  }

  return {
    restore() {
      for (const stub of stubs) stub.restore();
      for (const key of Object.keys(process.env))
        if (!(key in previousEnv)) delete process.env[key];
      Object.assign(process.env, previousEnv);
    },
  };
};
