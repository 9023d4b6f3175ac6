/**
 * Regenerates sandbox/cloudformation/resource-schemas.json: what the sandbox's CloudFormation
 * knows of resource types, read from the CloudFormation resource provider schemas that cfn-lint
 * ships (cfnlint/data/schemas: the us-east-1 provider schemas, with cfn-lint's patches applied),
 * so the replacement rules are the schemas' own and never hand-written:
 *
 * - every resource type name CloudFormation knows in us-east-1 (an unknown type is refused);
 * - for each AWS::ImageBuilder::* type: `createOnlyProperties` (a change replaces the resource),
 *   `readOnlyProperties`, `writeOnlyProperties`, `required`, `primaryIdentifier`, the attributes
 *   `Fn::GetAtt` may name (cfn-lint's `get_type_getatts`) and the property schemas themselves
 *   (`properties`, `definitions`), which the sandbox validates a template's properties against.
 *
 *   npx tsx sandbox/cloudformation/generate-resource-schemas.ts
 *
 * Run it after upgrading cfn-lint (python3 -m pip install --upgrade cfn-lint); the version is
 * recorded in the JSON.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const output = join(here, "resource-schemas.json");

/** Resource types whose schemas the sandbox models (sandbox/cloudformation/resource-types.ts). */
const PREFIX = "AWS::ImageBuilder::";
const REGION = "us-east-1";

const python = [
  "import json, sys",
  "import cfnlint.version",
  "from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as manager",
  "region, prefix = sys.argv[1], sys.argv[2]",
  "types = sorted(manager.get_resource_types(region))",
  "schemas = {}",
  "for name in types:",
  "    if not name.startswith(prefix): continue",
  "    schema = manager.get_resource_schema(region, name).schema",
  "    schemas[name] = {",
  "        'createOnlyProperties': schema.get('createOnlyProperties', []),",
  "        'readOnlyProperties': schema.get('readOnlyProperties', []),",
  "        'writeOnlyProperties': schema.get('writeOnlyProperties', []),",
  "        'required': schema.get('required', []),",
  "        'primaryIdentifier': schema.get('primaryIdentifier', []),",
  "        'attributes': sorted(manager.get_type_getatts(name, region).keys()),",
  "        'tagging': schema.get('tagging', {}),",
  "        'additionalProperties': schema.get('additionalProperties', True),",
  "        'properties': schema.get('properties', {}),",
  "        'definitions': schema.get('definitions', {}),",
  "    }",
  "print(json.dumps({'version': cfnlint.version.__version__, 'types': types, 'schemas': schemas}))",
].join("\n");

const generated = JSON.parse(
  execFileSync("python3", ["-c", python, REGION, PREFIX], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  }),
) as { version: string; types: string[]; schemas: Record<string, unknown> };

const result = {
  source: `cfn-lint ${generated.version} (cfnlint/data/schemas, provider schemas of ${REGION} with cfn-lint's patches)`,
  generatedBy: "sandbox/cloudformation/generate-resource-schemas.ts",
  region: REGION,
  resourceTypes: generated.types,
  schemas: generated.schemas,
};

writeFileSync(output, `${JSON.stringify(result, null, 2)}\n`);
execFileSync("npx", ["biome", "format", "--write", output], { cwd: root, stdio: "inherit" });
console.log(
  `${output}: ${generated.types.length} resource types, ${Object.keys(generated.schemas).length} schemas (${PREFIX}*), cfn-lint ${generated.version}`,
);
