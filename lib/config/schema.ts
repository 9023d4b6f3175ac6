import { z } from "zod";
import { CronSyntaxError, validateCron } from "./cron.ts";
import { freezeBoundInstant } from "./freeze-windows.ts";
import { arnRegionProblem, partitionOf, unknownRegionProblem } from "./regions.ts";
import { isIanaTimeZone } from "./time-zones.ts";

/**
 * The orchestrator's configuration (config/orchestrator.yml). Objects are strict so that a typo
 * (`timzone:`) is an error rather than a silently ignored setting.
 */

const ACCOUNT_ID = /^\d{12}$/;
const PIPELINE_ARN =
  /^arn:aws(?:-cn|-us-gov)?:imagebuilder:([a-z]{2}(?:-gov)?-[a-z]+-\d+):(\d{12}):image-pipeline\/([a-z0-9][a-z0-9_-]{0,127})$/;

export { parsePipelineArn } from "./arns.ts";

const ALIAS = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const accountId = z
  .string({
    error: "must be a 12-digit AWS account id in quotes (YAML reads unquoted digits as a number)",
  })
  .regex(ACCOUNT_ID, "must be a 12-digit AWS account id");

/** A region of the SDK's endpoint data: a typo (`eu-wset-1`) is refused, not deployed to. */
const region = z.string().superRefine((value, ctx) => {
  const problem = unknownRegionProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/**
 * An ARN of the given format whose region is known and in the ARN's partition
 * (`arn:aws-cn:...:eu-west-1:...` names nothing).
 */
const arn = (format: RegExp, formatMessage: string) =>
  z
    .string()
    .regex(format, formatMessage)
    .superRefine((value, ctx) => {
      if (!format.test(value)) return; // the format check has said what is wrong
      const [, arnPartition = "", , arnRegion = ""] = value.split(":");
      const problem = arnRegionProblem(arnPartition, arnRegion);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

const timeZone = z
  .string()
  .refine(isIanaTimeZone, 'must be an IANA time zone such as "Europe/Paris" or "UTC"');

const cron = z.string().transform((value, ctx) => {
  try {
    return validateCron(value);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `invalid cron expression: ${error instanceof CronSyntaxError ? error.message : String(error)}`,
    });
    return z.NEVER;
  }
});

const FREEZE_BOUND =
  /^\d{4}-\d{2}-\d{2}(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/;

/** Why a written year-month-day is not a day of the calendar (Date would roll 02-30 into March). */
const calendarDateProblem = (text: string): string | undefined => {
  const [year, month, day] = text.split("-").map(Number) as [number, number, number];
  if (month < 1 || month > 12) return `${text} is not a calendar date: there is no month ${month}`;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day >= 1 && day <= days) return undefined;
  const name = new Date(Date.UTC(year, month - 1, 1)).toLocaleString("en-US", {
    month: "long",
    timeZone: "UTC",
  });
  return `${text} is not a calendar date: ${name} ${year} has ${days} days`;
};

const freezeBound = z.string().superRefine((value, ctx) => {
  if (!FREEZE_BOUND.test(value)) {
    ctx.addIssue({
      code: "custom",
      message:
        'must be a date "YYYY-MM-DD" or a timestamp with an offset "2026-12-20T18:00:00+01:00"',
    });
    return;
  }
  const problem = calendarDateProblem(value.slice(0, 10));
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const freezeWindow = z
  .strictObject({
    from: freezeBound,
    to: freezeBound,
    timezone: timeZone.optional(),
    reason: z.string().max(200).optional(),
  })
  .superRefine((window, ctx) => {
    const zone = window.timezone ?? "UTC";
    if (
      freezeBoundInstant(window.from, "from", zone) >= freezeBoundInstant(window.to, "to", zone)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["to"],
        message: `must be after "from" (${window.from})`,
      });
    }
  });

const account = z.strictObject({
  id: accountId,
  roleName: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, "must be an IAM role name (no path)")
    .default("ami-orchestrator-target"),
  externalId: z
    .string()
    .regex(/^[\w+=,.@:/-]{2,1224}$/, "must be 2-1224 characters of [A-Za-z0-9+=,.@:/_-]"),
  regions: z
    .array(region)
    .min(1, "list at least one region")
    .refine((list) => new Set(list).size === list.length, "lists a region twice"),
});

const wave = z.strictObject({
  name: z.string().regex(ALIAS, "must be lowercase letters, digits, - or _"),
  accounts: z.array(z.string()).min(1, "list at least one account alias"),
  regions: z.array(region).min(1).optional(),
  bakeMinutes: z.number().int().min(0).max(10080).default(0),
  approval: z.enum(["manual"]).optional(),
});

const instanceRefresh = z
  .strictObject({
    minHealthyPercentage: z.number().int().min(0).max(100).default(90),
    maxHealthyPercentage: z.number().int().min(100).max(200).optional(),
    instanceWarmup: z.number().int().min(0).optional(),
    skipMatching: z.boolean().default(true),
    autoRollback: z.boolean().default(true),
    checkpointPercentages: z
      .array(z.number().int().min(1).max(100))
      .min(1)
      .refine(
        (list) => list.every((value, index) => index === 0 || value > (list[index - 1] ?? 0)),
        "must be strictly ascending",
      )
      .optional(),
    checkpointDelay: z.number().int().min(0).max(172800).optional(),
    bakeTime: z.number().int().min(0).max(172800).optional(),
    alarms: z.array(z.string().min(1)).max(10).optional(),
    scaleInProtectedInstances: z.enum(["Refresh", "Ignore", "Wait"]).optional(),
    standbyInstances: z.enum(["Terminate", "Ignore", "Wait"]).optional(),
    /** What to do when the group already has an active refresh. */
    whenInProgress: z.enum(["wait", "cancel"]).default("wait"),
    /**
     * `Rolling` replaces instances; `ReplaceRootVolume` keeps them and swaps only their root
     * volume, for groups whose mixed instances policy names an `ImageId` on every override
     * (API model RefreshStrategy, LaunchTemplateOverrides.ImageId). Groups that cannot take it
     * are reported, never rolled another way.
     */
    strategy: z.enum(["Rolling", "ReplaceRootVolume"]).default("Rolling"),
  })
  .superRefine((refresh, ctx) => {
    if (
      refresh.maxHealthyPercentage !== undefined &&
      refresh.maxHealthyPercentage - refresh.minHealthyPercentage > 100
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["maxHealthyPercentage"],
        message: "may exceed minHealthyPercentage by at most 100",
      });
    }
    // RefreshPreferences (API reference): "if you specify a value for [CheckpointDelay], you
    // must also specify a value for CheckpointPercentages"; "To replace all instances in the
    // Auto Scaling group, the last number in the array must be 100": a refresh that stops at
    // 50% would be reported successful with half the group on the old AMI.
    if (refresh.checkpointDelay !== undefined && refresh.checkpointPercentages === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["checkpointDelay"],
        message: "needs checkpointPercentages: a delay applies after checkpoints",
      });
    }
    const last = refresh.checkpointPercentages?.at(-1);
    if (last !== undefined && last !== 100) {
      ctx.addIssue({
        code: "custom",
        path: ["checkpointPercentages"],
        message: `must end with 100 (got ${last}): otherwise the refresh stops part-way and leaves instances on the old AMI`,
      });
    }
  });

const autoScalingGroups = z
  .strictObject({
    // An empty tag set would select every group of every target account.
    tags: z
      .record(z.string().min(1), z.string())
      .refine((tags) => Object.keys(tags).length > 0, "name at least one tag")
      .optional(),
    names: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine(
    (selector) => (selector.tags === undefined) !== (selector.names === undefined),
    "set exactly one of `tags` or `names`",
  );

const rollout = z.strictObject({
  waves: z.array(wave).min(1, "declare at least one wave"),
  autoScalingGroups,
  launchTemplate: z.strictObject({ setDefaultVersion: z.boolean().default(false) }).default({
    setDefaultVersion: false,
  }),
  instanceRefresh: instanceRefresh.default(() => instanceRefresh.parse({})),
  /** Refreshes still running when a newer image supersedes the rollout: let them finish, or cancel. */
  onSupersede: z.enum(["finish", "cancel"]).default("finish"),
  /** A new KMS grant can take minutes to be usable; refreshes wait this long after creating one. */
  grantPropagationSeconds: z.number().int().min(0).max(900).default(300),
  /**
   * When a selected group fails to launch because its service-linked role lost its grant on the
   * AMI's key, explain-launch-failure recreates the grant (as a rollout would).
   */
  healGrants: z.boolean().default(true),
});

/**
 * Where a managed pipeline's definition lives, from the repository root: `pipelines/<folder>`
 * (a pipeline.yml and its components/, see docs/pipelines.md).
 */
export const DEFINITION_PATH = /^pipelines\/[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * An Image Builder resource name (API model `ResourceName`): 3-128 characters. A managed pipeline,
 * its recipe and its configurations are created under the config name, so it must be one.
 */
const IMAGE_BUILDER_NAME = /^[-_A-Za-z0-9][-_A-Za-z0-9 ]{1,126}[-_A-Za-z0-9]$/;

const pipelineFields = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, "must be 1-64 letters, digits, - or _"),
  /** An existing pipeline, built and deployed elsewhere. */
  arn: arn(
    PIPELINE_ARN,
    "must be an Image Builder pipeline ARN: arn:aws:imagebuilder:<region>:<12-digit account>:image-pipeline/<name>",
  ).optional(),
  /** A managed pipeline: its definition in this repository, synthesized by `npm run pipelines`. */
  definition: z
    .string()
    .regex(DEFINITION_PATH, 'must be "pipelines/<folder>", the folder holding its pipeline.yml')
    .optional(),
  /** Where a managed pipeline is built: the build account and region of its stack. */
  account: accountId.optional(),
  region: region.optional(),
  schedule: z
    .strictObject({
      cron,
      timezone: timeZone.default("UTC"),
      enabled: z.boolean().default(true),
    })
    .optional(),
  freeze: z.array(freezeWindow).default([]),
  /**
   * The SNS topic of the pipeline's infrastructure configuration, if Image Builder notifies one:
   * on-image-state subscribes to it (in addition to the EventBridge rule, deduplicated). A managed
   * pipeline's infrastructure configuration is given this topic.
   */
  notificationTopicArn: arn(
    /^arn:aws(?:-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/,
    "must be an SNS topic ARN",
  ).optional(),
  rollout: rollout.optional(),
});

/** The ARN CloudFormation gives a managed pipeline: Image Builder lowercases names in ARNs. */
export const managedPipelineArn = (name: string, account: string, region: string): string =>
  `arn:${partitionOf(region) ?? "aws"}:imagebuilder:${region}:${account}:image-pipeline/${name.toLowerCase()}`;

/**
 * A pipeline is either an existing one (`arn`) or a managed one (`definition`, built in `account`
 * and `region`); either way the parsed config carries its `arn`, so code that reads pipelines
 * does not care which.
 */
const pipeline = pipelineFields
  .superRefine((value, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (value.arn === undefined && value.definition === undefined) {
      ctx.addIssue({
        code: "custom",
        message:
          "set `arn` (an existing pipeline) or `definition: pipelines/<folder>` with `account` and `region` (a pipeline defined in this repository)",
      });
      return;
    }
    if (value.arn !== undefined && value.definition !== undefined) {
      issue(
        "definition",
        "set `arn` or `definition`, not both: the ARN of a managed pipeline is derived from its name, account and region",
      );
      return;
    }
    if (value.arn !== undefined) {
      for (const key of ["account", "region"] as const) {
        if (value[key] !== undefined)
          issue(key, `only a managed pipeline (\`definition\`) takes \`${key}\`; the ARN says it`);
      }
      return;
    }
    for (const key of ["account", "region"] as const) {
      if (value[key] === undefined)
        issue("definition", `a managed pipeline needs \`${key}\`: where it is built`);
    }
    if (!IMAGE_BUILDER_NAME.test(value.name))
      issue("name", "a managed pipeline's name is its Image Builder name: at least 3 characters");
  })
  .transform((value) => ({
    ...value,
    arn: value.arn ?? managedPipelineArn(value.name, value.account ?? "", value.region ?? ""),
  }));

const notifications = z.strictObject({
  slack: z
    .strictObject({
      webhookUrlParameter: z
        .string()
        .regex(/^\/[\w.\-/]+$/, 'must be an SSM parameter name starting with "/"'),
    })
    .optional(),
  email: z.array(z.email()).default([]),
});

export const configSchema = z
  .strictObject({
    notifications: notifications.default({ email: [] }),
    accounts: z.record(
      z.string().regex(ALIAS, "account aliases must be lowercase letters, digits, - or _"),
      account,
    ),
    /** Freeze windows that apply to every pipeline. */
    freeze: z.array(freezeWindow).default([]),
    pipelines: z.array(pipeline).min(1, "declare at least one pipeline"),
  })
  // Cross-references run even when other fields are invalid, so one run reports every problem;
  // hence the defensive reads of a value that may be only partly parsed.
  .superRefine((value, ctx) => crossCheck(value as unknown as LooseConfig, ctx), {
    when: () => true,
  });

interface LooseConfig {
  accounts?: Record<string, { id?: unknown; regions?: unknown } | undefined>;
  pipelines?: Array<{
    name?: unknown;
    arn?: unknown;
    definition?: unknown;
    account?: unknown;
    region?: unknown;
    rollout?: { waves?: Array<{ name?: unknown; accounts?: unknown; regions?: unknown }> };
  }>;
}

const stringsOf = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];

const crossCheck = (config: LooseConfig, ctx: z.RefinementCtx): void => {
  const accounts = config.accounts && typeof config.accounts === "object" ? config.accounts : {};
  const pipelines = Array.isArray(config.pipelines) ? config.pipelines : [];
  // A target is an account id and a region, whatever its alias: two aliases of one account
  // sharing a region would let one target sit in two waves (or twice in one) unnoticed.
  const aliasOf = new Map<string, string>();
  for (const [alias, account] of Object.entries(accounts)) {
    // An account id exists in one partition only.
    const regions = Array.isArray(account?.regions) ? (account.regions as unknown[]) : [];
    let first: { region: string; partition: string } | undefined;
    regions.forEach((region, index) => {
      const partition = typeof region === "string" ? partitionOf(region) : undefined;
      if (typeof region !== "string" || partition === undefined) return;
      if (first === undefined) first = { region, partition };
      else if (partition !== first.partition) {
        ctx.addIssue({
          code: "custom",
          path: ["accounts", alias, "regions", index],
          message: `${region} is in partition "${partition}", ${first.region} in "${first.partition}": an account belongs to one partition`,
        });
      }
    });
    if (typeof account?.id !== "string") continue;
    for (const region of new Set(stringsOf(account.regions))) {
      const earlier = aliasOf.get(`${account.id}/${region}`);
      if (earlier === undefined) aliasOf.set(`${account.id}/${region}`, alias);
      else {
        ctx.addIssue({
          code: "custom",
          path: ["accounts", alias, "id"],
          message: `account ${account.id} in ${region} is already declared as "${earlier}": one target under two aliases`,
          input: account.id,
        });
        break;
      }
    }
  }
  const firstIndex = {
    name: new Map<unknown, number>(),
    arn: new Map<unknown, number>(),
    definition: new Map<unknown, number>(),
  };
  // One image stack per stage (docs/pipelines.md): a stack lives in one account and region.
  let firstSite: { index: number; site: string } | undefined;
  pipelines.forEach((pipeline, index) => {
    const account = pipeline?.account;
    if (typeof pipeline?.definition !== "string" || typeof account !== "string") return;
    if (typeof pipeline.region !== "string") return;
    const site = `account ${account} in ${pipeline.region}`;
    if (firstSite === undefined) firstSite = { index, site };
    else if (firstSite.site !== site) {
      ctx.addIssue({
        code: "custom",
        path: ["pipelines", index, "account"],
        message: `managed pipelines are deployed by one stack, so they are built in one place: pipelines[${firstSite.index}] is built in ${firstSite.site}, this one in ${site}`,
      });
    }
  });
  pipelines.forEach((pipeline, index) => {
    for (const key of ["name", "arn", "definition"] as const) {
      const value = pipeline?.[key];
      if (typeof value !== "string") continue;
      const previous = firstIndex[key].get(value);
      if (previous === undefined) firstIndex[key].set(value, index);
      else if (key === "arn" && typeof pipeline?.definition === "string") {
        // A managed pipeline's ARN is derived: what the user wrote is its name.
        ctx.addIssue({
          code: "custom",
          path: ["pipelines", index, "name"],
          message: `same Image Builder pipeline as pipelines[${previous}] (${value}): names are unique per account and region, case aside`,
        });
      } else {
        ctx.addIssue({
          code: "custom",
          path: ["pipelines", index, key],
          message: `duplicate pipeline ${key} (also pipelines[${previous}])`,
          input: value,
        });
      }
    }
    const arnParts = typeof pipeline?.arn === "string" ? pipeline.arn.split(":") : [];
    const pipelinePartition =
      arnParts[0] === "arn"
        ? arnParts[1]
        : typeof pipeline?.region === "string"
          ? partitionOf(pipeline.region)
          : undefined;
    const waves = Array.isArray(pipeline?.rollout?.waves) ? pipeline.rollout.waves : [];
    const targets = new Map<string, unknown>();
    waves.forEach((wave, waveIndex) => {
      const wavePath = ["pipelines", index, "rollout", "waves", waveIndex];
      if (waves.findIndex((other) => other?.name === wave?.name) !== waveIndex) {
        ctx.addIssue({
          code: "custom",
          path: [...wavePath, "name"],
          message: "duplicate wave name",
        });
      }
      stringsOf(wave?.accounts).forEach((alias, aliasIndex) => {
        const declared = Object.hasOwn(accounts, alias) ? accounts[alias] : undefined;
        if (!declared) {
          const known = Object.keys(accounts).join(", ") || "none";
          ctx.addIssue({
            code: "custom",
            path: [...wavePath, "accounts", aliasIndex],
            message: `account alias is not declared under \`accounts\` (declared: ${known})`,
          });
          return;
        }
        const accountRegions = stringsOf(declared.regions);
        const waveRegions = wave?.regions === undefined ? accountRegions : stringsOf(wave.regions);
        for (const region of waveRegions) {
          if (!accountRegions.includes(region)) {
            ctx.addIssue({
              code: "custom",
              path: [...wavePath, "regions"],
              message: `region ${region} is not one of account "${alias}"'s regions (${accountRegions.join(", ")})`,
            });
            continue;
          }
          const target = `${alias}/${region}`;
          // Partitions are isolated: CopyImage (EC2 API reference) does not copy across them, and
          // the target role is assumed in the pipeline's partition.
          const targetPartition = partitionOf(region);
          if (pipelinePartition && targetPartition && targetPartition !== pipelinePartition) {
            ctx.addIssue({
              code: "custom",
              path: [...wavePath, "accounts", aliasIndex],
              message: `${target} is in partition "${targetPartition}" but the pipeline is in "${pipelinePartition}": an AMI is not shared across partitions`,
            });
            continue;
          }
          const earlier = targets.get(target);
          if (earlier === undefined) targets.set(target, wave?.name);
          else {
            ctx.addIssue({
              code: "custom",
              path: [...wavePath, "accounts", aliasIndex],
              message: `${target} is already rolled out in wave "${String(earlier)}"`,
            });
          }
        }
      });
    });
  });
};

export type OrchestratorConfig = z.output<typeof configSchema>;
export type PipelineConfig = OrchestratorConfig["pipelines"][number];
export type AccountConfig = OrchestratorConfig["accounts"][string];
export type RolloutConfig = NonNullable<PipelineConfig["rollout"]>;
