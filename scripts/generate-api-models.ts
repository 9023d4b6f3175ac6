/**
 * Regenerates sandbox/api-models/models.json: the subset of botocore's AWS API models
 * (service-2.json) that the sandbox validates requests and responses against, namely the
 * operations our code and the sandbox call and every shape they reach. The JSON is committed, so
 * tests need no Python; run this after adding an SDK call or upgrading botocore:
 *
 *   npx tsx scripts/generate-api-models.ts
 *
 * botocore comes from the image's Python (python3 -m pip install botocore to upgrade); its loader
 * picks each service's newest API version and reads the gzipped models.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SandboxWorld } from "../sandbox/model/world.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const output = join(root, "sandbox/api-models/models.json");

/** The SDK clients the sandbox intercepts (sandbox/install.ts), by package and botocore name. */
const SERVICES: Record<string, string> = {
  "client-imagebuilder": "imagebuilder",
  "client-auto-scaling": "autoscaling",
  "client-ec2": "ec2",
  "client-iam": "iam",
  "client-kms": "kms",
  "client-sns": "sns",
  "client-sqs": "sqs",
  "client-ssm": "ssm",
  "client-cloudwatch-logs": "logs",
  "client-sts": "sts",
  "client-scheduler": "scheduler",
  "client-eventbridge": "events",
  "client-cloudformation": "cloudformation",
};

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });

/** Operations named by `XCommand`/`paginateX` imports from the intercepted clients. */
const operationsInSource = (): Map<string, Set<string>> => {
  const found = new Map<string, Set<string>>();
  const imports = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"@aws-sdk\/(client-[a-z0-9-]+)"/g;
  for (const dir of ["lib", "functions", "scripts", "sandbox", "bench"]) {
    for (const file of sourceFiles(join(root, dir))) {
      for (const [, names = "", client = ""] of readFileSync(file, "utf8").matchAll(imports)) {
        const service = SERVICES[client];
        if (!service) continue;
        for (const raw of names.split(",")) {
          const name =
            raw
              .trim()
              .replace(/^type\s+/, "")
              .split(/\s+as\s+/)[0] ?? "";
          const operation =
            /^([A-Z]\w+)Command$/.exec(name)?.[1] ?? /^paginate(\w+)$/.exec(name)?.[1];
          if (!operation) continue;
          found.set(service, (found.get(service) ?? new Set()).add(operation));
        }
      }
    }
  }
  return found;
};

/** Operations the sandbox's service models implement, as SandboxWorld registers them. */
const operationsInSandbox = (): Map<string, Set<string>> => {
  const found = new Map<string, Set<string>>();
  class Recording extends SandboxWorld {
    override register(service: string, operations: Record<string, unknown>): void {
      for (const operation of Object.keys(operations))
        found.set(service, (found.get(service) ?? new Set()).add(operation));
      super.register(service, operations as Parameters<SandboxWorld["register"]>[1]);
    }
  }
  new Recording({
    start: "2025-01-01T00:00:00Z",
    orchestratorAccountId: "111111111111",
    orchestratorRegion: "eu-west-1",
  });
  return found;
};

interface RawShape {
  type: string;
  required?: string[];
  members?: Record<string, { shape: string; idempotencyToken?: boolean }>;
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  union?: boolean;
}
interface RawModel {
  metadata: { apiVersion: string; protocol: string; awsQueryCompatible?: object };
  operations: Record<string, { input?: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, RawShape>;
}

/** Only what validation needs: documentation, wire names and serialisation hints are dropped. */
const compactShape = (shape: RawShape) => ({
  type: shape.type,
  ...(shape.required?.length ? { required: shape.required } : {}),
  ...(shape.members
    ? {
        members: Object.fromEntries(
          Object.entries(shape.members).map(([name, member]) => [
            name,
            { shape: member.shape, ...(member.idempotencyToken ? { idempotencyToken: true } : {}) },
          ]),
        ),
      }
    : {}),
  ...(shape.member ? { member: shape.member.shape } : {}),
  ...(shape.key ? { key: shape.key.shape } : {}),
  ...(shape.value ? { value: shape.value.shape } : {}),
  ...(shape.min !== undefined ? { min: shape.min } : {}),
  ...(shape.max !== undefined ? { max: shape.max } : {}),
  ...(shape.pattern !== undefined ? { pattern: shape.pattern } : {}),
  ...(shape.enum ? { enum: shape.enum } : {}),
  ...(shape.union ? { union: true } : {}),
});

const loadBotocore = (services: string[]): { version: string; models: Record<string, RawModel> } =>
  JSON.parse(
    execFileSync(
      "python3",
      [
        "-c",
        [
          "import json, sys, botocore, botocore.loaders",
          "loader = botocore.loaders.create_loader()",
          "models = {s: loader.load_service_model(s, 'service-2') for s in sys.argv[1:]}",
          "print(json.dumps({'version': botocore.__version__, 'models': models}))",
        ].join("\n"),
        ...services,
      ],
      { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 },
    ),
  );

const wanted = operationsInSource();
for (const [service, operations] of operationsInSandbox())
  for (const operation of operations)
    wanted.set(service, (wanted.get(service) ?? new Set()).add(operation));

const services = Object.values(SERVICES)
  .filter((service) => wanted.has(service))
  .sort();
const botocore = loadBotocore(services);
const unparsablePatterns: string[] = [];

const result = {
  source: `botocore ${botocore.version} (data/<service>/<apiVersion>/service-2.json)`,
  generatedBy: "scripts/generate-api-models.ts",
  services: Object.fromEntries(
    services.map((service) => {
      const model = botocore.models[service] as RawModel;
      const operations: Record<string, { input?: string; output?: string }> = {};
      const reached = new Set<string>();
      const reach = (name: string | undefined) => {
        if (!name || reached.has(name)) return;
        reached.add(name);
        const shape = model.shapes[name] as RawShape;
        for (const member of Object.values(shape.members ?? {})) reach(member.shape);
        for (const ref of [shape.member, shape.key, shape.value]) reach(ref?.shape);
      };
      for (const operation of [...(wanted.get(service) ?? [])].sort()) {
        const definition = model.operations[operation];
        if (!definition) throw new Error(`${service} has no operation ${operation} in botocore`);
        operations[operation] = {
          ...(definition.input ? { input: definition.input.shape } : {}),
          ...(definition.output ? { output: definition.output.shape } : {}),
        };
        reach(definition.input?.shape);
        reach(definition.output?.shape);
      }
      const shapes = Object.fromEntries(
        [...reached].sort().map((name) => [name, compactShape(model.shapes[name] as RawShape)]),
      );
      for (const [name, shape] of Object.entries(shapes)) {
        if (shape.pattern === undefined) continue;
        try {
          new RegExp(shape.pattern, "u");
        } catch {
          unparsablePatterns.push(`${service}.${name}: ${shape.pattern}`);
        }
      }
      return [
        service,
        {
          apiVersion: model.metadata.apiVersion,
          protocol: model.metadata.protocol,
          ...(model.metadata.awsQueryCompatible ? { awsQueryCompatible: true } : {}),
          operations,
          shapes,
        },
      ];
    }),
  ),
};

console.log(
  `${output}: botocore ${botocore.version}, ${services
    .map((service) => `${service} ${wanted.get(service)?.size ?? 0} operations`)
    .join(", ")}`,
);
// sandbox/api-models/validate.ts compiles every pattern as a JavaScript (u) regular expression.
if (unparsablePatterns.length > 0)
  throw new Error(`patterns JavaScript cannot compile:\n${unparsablePatterns.join("\n")}`);

writeFileSync(output, `${JSON.stringify(result, null, 2)}\n`);
execFileSync("npx", ["biome", "format", "--write", output], { cwd: root, stdio: "inherit" });
