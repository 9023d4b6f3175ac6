/**
 * `npm run docs`: regenerates the marked blocks of README.md and docs/**\/*.md from the code
 * (`<!-- generated:<name> -->` … `<!-- /generated:<name> -->`, see scripts/docs/blocks.ts).
 * `npm run docs -- --check` changes nothing and exits 1, naming each file and block that differs
 * from what the code produces (CI runs it). Exit 2 on a malformed or unknown block.
 *
 * Blocks: key-policy, target-role-trust, target-role-permissions (lib/kms/key-policy.ts,
 * templates/target-account-role.yml); demo-summary, demo-timeline, rollout-status (`npm start`,
 * run in-process); validate-config (a broken copy of the config); doctor-sample
 * (`npm run doctor -- --sandbox`); pipelines-as-code (`npm start -- --scenario pipelines-as-code`),
 * plan-sandbox (`npm run pipelines -- plan --sandbox` in a scratch clone);
 * functions, alarms, alert-kinds (serverless.yml,
 * lib/alerts/types.ts); config-reference (lib/config/schema.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config/load.ts";
import { BlockError, replaceBlocks } from "./docs/blocks.ts";
import { markdownFiles } from "./docs/files.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });

const config = loadConfig(join(root, "config/orchestrator.yml"));
// The demo first: it loads the handlers, and Powertools reads its settings when it loads.
const { demoBlocks, doctorBlock, pipelinesAsCodeBlock, planSandboxBlock, validateConfigBlock } =
  await import("./docs/samples.ts");
const demo = await demoBlocks(config);
const { keyPolicyBlock, targetPermissionsBlock, targetTrustBlock } = await import(
  "./docs/policies.ts"
);
const { alarmsBlock, alertKindsBlock, functionsBlock } = await import("./docs/stack.ts");
const { operatorBlocks } = await import("./docs/operator.ts");
const { ConfigReferenceError, configReferenceBlock } = await import("./docs/config-reference.ts");
const [validateConfig, doctor, pipelinesAsCode, planSandbox] = await Promise.all([
  validateConfigBlock(root),
  doctorBlock(root),
  pipelinesAsCodeBlock(root),
  planSandboxBlock(root),
]);
const fixed: Record<string, string> = {
  ...demo,
  ...operatorBlocks(),
  "doctor-sample": doctor,
  "pipelines-as-code": pipelinesAsCode,
  "plan-sandbox": planSandbox,
  "validate-config": validateConfig,
  "key-policy": keyPolicyBlock(config),
  "target-role-trust": targetTrustBlock(config),
  "target-role-permissions": targetPermissionsBlock(),
  "config-reference": await Promise.resolve()
    .then(configReferenceBlock)
    .catch((error: unknown) => {
      if (!(error instanceof ConfigReferenceError)) throw error;
      console.error(error.message);
      process.exit(2);
    }),
};
/** Blocks whose links depend on where they are shown. */
const blocksFor = (file: string): Record<string, string> => {
  const link = (path: string) => posix.relative(posix.dirname(file), path) || ".";
  return {
    ...fixed,
    functions: functionsBlock(link),
    alarms: alarmsBlock(link),
    "alert-kinds": alertKindsBlock(root, link),
  };
};

let stale = 0;
try {
  for (const file of markdownFiles(root)) {
    const before = readFileSync(join(root, file), "utf8");
    const { text, changed } = replaceBlocks(before, blocksFor(file), file);
    if (changed.length === 0) continue;
    if (values.check) {
      for (const name of new Set(changed)) {
        console.error(`${file}: block "${name}" differs from what the code produces`);
        stale += 1;
      }
    } else {
      writeFileSync(join(root, file), text);
      console.log(`${file}: regenerated ${[...new Set(changed)].join(", ")}`);
    }
  }
} catch (error) {
  if (!(error instanceof BlockError)) throw error;
  console.error(error.message);
  process.exit(2);
}
if (stale > 0) {
  console.error(`${stale} generated block(s) out of date: run npm run docs and commit the result`);
  process.exit(1);
}
if (values.check) console.log("docs: every generated block is up to date");
