/**
 * Regenerates lib/pipelines/replacement-rules.json: for each Image Builder resource type the
 * stack holds, the properties CloudFormation replaces it on (its resource schema's
 * `createOnlyProperties`), read from the schemas cfn-lint ships, with cfn-lint's version.
 *
 *   npx tsx scripts/generate-replacement-rules.ts           write the file
 *   npx tsx scripts/generate-replacement-rules.ts --check   exit 1 if the rules differ from cfn-lint's
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESOURCE_TYPES } from "../lib/pipelines/replacement.ts";

const python = (code: string): string =>
  execFileSync("python3", ["-c", code], { encoding: "utf8" }).trim();

const cfnlint = python("import cfnlint, os; print(os.path.dirname(cfnlint.__file__))");
const version = execFileSync("cfn-lint", ["--version"], { encoding: "utf8" }).trim();
// cfn-lint keeps one schema per type and region: providers/<region>.py maps a type to the hash
// naming its file under resources/. us-east-1 carries every type.
const providers = readFileSync(join(cfnlint, "data/schemas/providers/us_east_1.py"), "utf8");

const types = Object.fromEntries(
  RESOURCE_TYPES.map((type) => {
    const hash = new RegExp(`"${type}": "([0-9a-f]+)"`).exec(providers)?.[1];
    if (!hash) throw new Error(`${type} is not in cfn-lint's us-east-1 schemas`);
    const schema = JSON.parse(
      readFileSync(join(cfnlint, "data/schemas/resources", `${hash}.json`), "utf8"),
    ) as { createOnlyProperties?: string[] };
    const properties = (schema.createOnlyProperties ?? [])
      .map((pointer) => pointer.replace(/^\/properties\//, ""))
      .filter((name) => !name.includes("/"))
      .sort();
    return [type, properties];
  }),
);

const file = "lib/pipelines/replacement-rules.json";
if (process.argv.includes("--check")) {
  const committed = JSON.parse(readFileSync(file, "utf8")) as { replaceOn: unknown };
  if (JSON.stringify(committed.replaceOn) !== JSON.stringify(types)) {
    console.error(
      `${file} differs from ${version}'s schemas: run npx tsx ${"scripts/generate-replacement-rules.ts"}`,
    );
    process.exit(1);
  }
  console.log(`${file}: current with ${version}`);
  process.exit(0);
}
writeFileSync(
  file,
  `${JSON.stringify(
    {
      source:
        "createOnlyProperties of the CloudFormation resource schemas shipped with cfn-lint (data/schemas, us-east-1)",
      generator: "scripts/generate-replacement-rules.ts",
      cfnLint: version,
      replaceOn: types,
    },
    null,
    2,
  )}\n`,
);
console.log(`${file}: ${RESOURCE_TYPES.length} types from ${version}`);
