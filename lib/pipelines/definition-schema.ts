import { z } from "zod";
import { componentVersionProblem, recipeVersionProblem } from "./versions.ts";

/**
 * `pipelines/<folder>/pipeline.yml`: one managed image pipeline. Shapes and limits come from the
 * Image Builder API model (botocore imagebuilder 2019-12-02, shape names in the comments); where
 * the pipeline is built, its name, schedule and distribution targets come from
 * config/orchestrator.yml. Published as schemas/pipeline.schema.json for editors.
 */

/** API model `Platform`. */
export const PLATFORMS = ["Linux", "Windows", "macOS"] as const;

/** API model `ComponentVersionArnOrBuildVersionArn`. */
export const COMPONENT_ARN =
  /^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws(?:-[a-z-]+)?):component\/[a-z0-9-_]+\/(?:(?:([0-9]+|x)\.([0-9]+|x)\.([0-9]+|x))|(?:[0-9]+\.[0-9]+\.[0-9]+\/[0-9]+))$/;

/**
 * The parent image, as CreateImageRecipe takes it: an Image Builder image ARN (e.g.
 * `.../image/amazon-linux-2023-x86/x.x.x`), an SSM parameter (`ssm:` then its name or ARN) or an
 * AMI id (API model `CreateImageRecipeRequest.parentImage`).
 */
const PARENT_IMAGE =
  /^(?:arn:aws[^:]*:imagebuilder:[a-z0-9-]+:(?:[0-9]{12}|aws(?:-[a-z-]+)?):image\/[a-z0-9-_]+\/(?:[0-9]+|x)\.(?:[0-9]+|x)\.(?:[0-9]+|x)(?:\/[0-9]+)?|ssm:(?:\/[\w.\-/]+|arn:aws[^:]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter\/[\w.\-/]+)|ami-[0-9a-f]{8}(?:[0-9a-f]{9})?)$/;

const nonEmpty = (max: number) => z.string().min(1).max(max);

/** A version checked by `problem`; `pattern` is what editors get in the JSON Schema. */
const versionOf = (problem: (version: string) => string | undefined, pattern: string) =>
  z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? "a version is required"
          : `${JSON.stringify(issue.input)} is not a version: write three numbers, e.g. 1.2.0 (YAML reads 1.0 as a number)`,
    })
    .superRefine((value, ctx) => {
      const message = problem(value);
      if (message) ctx.addIssue({ code: "custom", message });
    })
    .meta({ pattern });

/** Component parameters: name → value or values (API model `ComponentParameter`). */
const parameters = z
  .record(
    nonEmpty(256),
    z.union([z.string(), z.array(z.string())], {
      error: "a parameter value is a string or a list of strings (quote numbers and booleans)",
    }),
  )
  .describe("Component parameters, name → value (or a list of values).");

const localComponent = z
  .strictObject({
    file: z
      .string()
      .regex(
        /^components\/[A-Za-z0-9][A-Za-z0-9_-]*\.ya?ml$/,
        "must be \"components/<file>.yml\" in this pipeline's folder, the file name in letters, digits, - and _ (it becomes part of the component's name)",
      )
      .describe("An AWSTOE document of this pipeline: components/<file>.yml."),
    version: versionOf(componentVersionProblem, "^[0-9]+\\.[0-9]+\\.[0-9]+$").describe(
      "The component's semantic version, <major>.<minor>.<patch>. A changed document keeps it: Image Builder adds the next build number.",
    ),
    parameters: parameters.optional(),
  })
  .describe("A component defined in this repository.");

const arnComponent = z
  .strictObject({
    arn: z
      .string()
      .regex(
        COMPONENT_ARN,
        "must be an Image Builder component ARN with a version (x.x.x wildcards allowed) or a build version",
      )
      .describe(
        "An AWS-managed or other existing component, e.g. arn:aws:imagebuilder:eu-west-1:aws:component/update-linux/x.x.x.",
      ),
    parameters: parameters.optional(),
  })
  .describe("An existing component, by ARN.");

const component = z.union([localComponent, arnComponent], {
  error:
    "a component is { file: components/<file>.yml, version: 1.0.0 } or { arn: <component ARN> }",
});

/** API model `InstanceBlockDeviceMapping` / `EbsInstanceBlockDeviceSpecification`. */
const blockDeviceMapping = z.strictObject({
  deviceName: nonEmpty(1024),
  ebs: z
    .strictObject({
      encrypted: z.boolean().optional(),
      deleteOnTermination: z.boolean().optional(),
      iops: z.number().int().min(100).max(64000).optional(),
      kmsKeyId: nonEmpty(1024).optional(),
      snapshotId: nonEmpty(1024).optional(),
      volumeSize: z.number().int().min(1).max(16000).optional(),
      volumeType: z.enum(["standard", "io1", "io2", "gp2", "gp3", "sc1", "st1"]).optional(),
      throughput: z.number().int().min(125).max(1000).optional(),
    })
    .optional(),
  virtualName: nonEmpty(1024).optional(),
  noDevice: z.literal("").optional(),
});

const recipe = z.strictObject({
  version: versionOf(
    recipeVersionProblem,
    "^(?:[0-9]+\\.(?:[0-9]+\\.x|x\\.x)|x\\.x\\.x)$",
  ).describe(
    "The recipe's version with a wildcard, e.g. 1.0.x: each changed recipe gets the next version from Image Builder.",
  ),
  parentImage: z
    .string()
    .regex(
      PARENT_IMAGE,
      "must be an Image Builder image ARN (…:image/<name>/x.x.x), ssm:<parameter name or ARN>, or an AMI id (ami-…)",
    )
    .describe("The base image: Image Builder image ARN, ssm:<parameter>, or ami-…"),
  components: z
    .array(component)
    .min(1, "list at least one component")
    .describe("Components in the order they run (at most 20, API model ImageRecipe.components)."),
  blockDeviceMappings: z.array(blockDeviceMapping).optional(),
  workingDirectory: nonEmpty(1024).optional(),
});

/** API model `CreateInfrastructureConfigurationRequest`. */
const infrastructure = z.strictObject({
  instanceTypes: z.array(z.string().min(1)).min(1).optional(),
  instanceProfileName: z
    .string()
    .regex(/^[\w+=,.@-]{1,256}$/, "must be an IAM instance profile name")
    .describe("The instance profile of the build instance (name, not ARN)."),
  subnetId: z
    .string()
    .regex(/^subnet-[0-9a-f]+$/, "must be a subnet id (subnet-…)")
    .optional(),
  securityGroupIds: z
    .array(z.string().regex(/^sg-[0-9a-f]+$/, "must be a security group id (sg-…)"))
    .min(1)
    .optional(),
  terminateInstanceOnFailure: z.boolean().default(true),
});

/** API model `ImageTestsConfiguration`. */
const tests = z.strictObject({
  imageTestsEnabled: z.boolean().default(true),
  timeoutMinutes: z.number().int().min(60).max(1440).optional(),
});

const KMS_KEY = z
  .string()
  .regex(
    /^(?:arn:aws[^:]*:kms:[a-z0-9-]+:[0-9]{12}:(?:key|alias)\/[\w/-]+|alias\/[\w/-]+|(?:mrk-)?[0-9a-f-]{32,36})$/,
    "must be a KMS key id, key ARN, alias/<name> or alias ARN",
  );

const distribution = z.strictObject({
  mode: z
    .enum(["copy", "share"])
    .default("copy")
    .describe(
      "copy: each target account gets its own AMI (targetAccountIds); share: the build account's AMI, copied to each target region, is shared by launch permission.",
    ),
  kmsKeyId: z
    .union([KMS_KEY, z.record(z.string().regex(/^[a-z]{2}(?:-[a-z]+)+-\d+$/), KMS_KEY)])
    .optional()
    .describe(
      "The key that encrypts the distributed AMIs: one for every region (an alias or a multi-Region key), or region → key.",
    ),
  amiTags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
});

const componentBucket = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name")
      .describe("A bucket in the build account and region."),
    prefix: z
      .string()
      .regex(/^[\w.\-/]*$/)
      .default("ami-orchestrator/components"),
  })
  .describe(
    "Upload component documents to S3 (key: content hash) instead of inline: needed past 16,000 characters.",
  );

export const pipelineDefinitionSchema = z
  .strictObject({
    $schema: z.string().optional(),
    description: nonEmpty(1024).optional(),
    platform: z.enum(PLATFORMS),
    recipe,
    infrastructure,
    tests: tests.default(() => tests.parse({})),
    distribution: distribution.default(() => distribution.parse({})),
    componentBucket: componentBucket.optional(),
  })
  .describe(
    "An EC2 Image Builder pipeline managed by ami-orchestrator: pipelines/<folder>/pipeline.yml (docs/pipelines.md).",
  );

export type PipelineDefinition = z.output<typeof pipelineDefinitionSchema>;
export type ComponentEntry = PipelineDefinition["recipe"]["components"][number];
export type LocalComponentEntry = Extract<ComponentEntry, { file: string }>;
export type Platform = (typeof PLATFORMS)[number];
