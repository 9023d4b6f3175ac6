import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { TestContext } from "node:test";
import { parseConfig } from "../../../lib/config/load.ts";
import { type LoadedDefinitions, loadDefinitions } from "../../../lib/pipelines/definitions.ts";

/** A small repository on disk: config/orchestrator.yml, pipelines/…, as users lay it out. */

export const BUILD_ACCOUNT = "999999999999";

export const configWith = (pipelines: string): string => `
accounts:
  dev: { id: "111111111111", externalId: ext-dev-01, regions: [eu-west-1] }
  prod: { id: "222222222222", externalId: ext-prod-01, regions: [eu-west-1, eu-west-3] }
pipelines:
${pipelines}`;

export const managedPipeline = (name = "golden", folder = "golden", extra = ""): string => `
  - name: ${name}
    definition: pipelines/${folder}
    account: "${BUILD_ACCOUNT}"
    region: eu-west-1
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD_ACCOUNT}:imagebuilder-notifications
    rollout:
      waves:
        - { name: dev, accounts: [dev] }
        - { name: prod, accounts: [prod] }
      autoScalingGroups: { tags: { app: web } }
${extra}`;

export const COMPONENT = `name: harden
description: Hardens the image.
schemaVersion: 1.0
phases:
  - name: build
    steps:
      - name: Harden
        action: ExecuteBash
        inputs:
          commands:
            - echo hardening
`;

export const pipelineYml = (
  components = "    - file: components/harden.yml\n      version: 1.0.0\n",
  extra = "",
) => `description: Golden image
platform: Linux
recipe:
  version: 1.0.x
  parentImage: arn:aws:imagebuilder:eu-west-1:aws:image/amazon-linux-2023-x86/x.x.x
  components:
${components}infrastructure:
  instanceTypes: [t3.medium]
  instanceProfileName: image-builder
${extra}`;

export const writeRepo = (t: TestContext, files: Record<string, string>): string => {
  const root = mkdtempSync(join(tmpdir(), "pipelines-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
};

/** The usual one-pipeline repository, with files replaced or added. */
export const goldenRepo = (t: TestContext, files: Record<string, string> = {}): string =>
  writeRepo(t, {
    "config/orchestrator.yml": configWith(managedPipeline()),
    "pipelines/golden/pipeline.yml": pipelineYml(),
    "pipelines/golden/components/harden.yml": COMPONENT,
    ...files,
  });

export const load = (
  root: string,
  configText: string,
  commitOf?: (paths: readonly string[]) => string | undefined,
): LoadedDefinitions =>
  loadDefinitions({
    root,
    config: parseConfig(configText, "config/orchestrator.yml"),
    configFile: "config/orchestrator.yml",
    configText,
    ...(commitOf ? { commitOf } : {}),
  });

/** Diagnostics as users read them. */
export const lines = (loaded: LoadedDefinitions): string[] =>
  loaded.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
