/**
 * The configuration reference, generated from the schema (lib/config/schema.ts, as JSON Schema)
 * with a sentence per key written here. A key the schema gains without a sentence, or a sentence
 * whose key is gone, stops `npm run docs`: the reference cannot fall behind the schema.
 */
import { z } from "zod";
import { configSchema } from "../../lib/config/schema.ts";

/** What each key means, by its path (`[]` for a list item, `<alias>` for a map key). */
const MEANING: Record<string, string> = {
  notifications: "where alerts go",
  "notifications.slack": "Slack, optional",
  "notifications.slack.webhookUrlParameter":
    "SSM Parameter Store SecureString holding the Slack incoming-webhook URL (the URL never goes in the file)",
  "notifications.email":
    "addresses subscribed to the alerts topic by email (each confirms from its inbox)",
  accounts: "the target accounts, by alias",
  "accounts.<alias>": "one target account",
  "accounts.<alias>.id": "12-digit account id, **quoted** (YAML reads unquoted digits as a number)",
  "accounts.<alias>.roleName": "the role assumed there (the target stack's `RoleName`)",
  "accounts.<alias>.externalId":
    "the ExternalId that role's trust policy requires (the target stack's `ExternalId`)",
  "accounts.<alias>.regions": "regions where that account runs groups from these AMIs",
  freeze: "company-wide change freezes: no scheduled build starts and no wave begins inside one",
  "freeze[].from":
    'first day (`"2026-12-21"`, a whole local day) or instant (`"2026-12-21T18:00:00+01:00"`)',
  "freeze[].to": "last day (included whole) or instant; after `from`",
  "freeze[].timezone": "IANA zone for dates; else the pipeline schedule's zone, else UTC",
  "freeze[].reason": "shown in logs and the demo",
  pipelines: "the pipelines to build and roll out",
  "pipelines[].name": "our name for the pipeline (events, logs, metrics, `npm run rollout`)",
  "pipelines[].arn":
    "an existing pipeline: `arn:aws:imagebuilder:<region>:<account>:image-pipeline/<name>`; IAM is scoped to these. Set this or `definition`",
  "pipelines[].definition":
    "a pipeline managed as code: its folder (`pipelines/<name>`, [docs/pipelines.md](pipelines.md)); its ARN is derived",
  "pipelines[].account": "with `definition`: the 12-digit account the image stack builds in",
  "pipelines[].region": "with `definition`: the region the image stack builds in",
  "pipelines[].schedule": "build on a schedule (an EventBridge Scheduler schedule per pipeline)",
  "pipelines[].schedule.cron":
    "AWS 6-field cron `min hour day-of-month month day-of-week year`, one of the day fields `?`",
  "pipelines[].schedule.timezone":
    "IANA zone (`Europe/Paris`); daylight saving handled by Scheduler",
  "pipelines[].schedule.enabled": "`false` deploys the schedule disabled",
  "pipelines[].freeze":
    "this pipeline's freezes (same fields as `freeze[]`), on top of the global ones",
  "pipelines[].notificationTopicArn":
    "the Image Builder SNS topic to subscribe on-image-state to (the EventBridge rule is always there)",
  "pipelines[].rollout": "where and how new AMIs roll out; no rollout without it",
  "pipelines[].rollout.waves": "waves, in order",
  "pipelines[].rollout.waves[].name": "wave name (`approve` names it)",
  "pipelines[].rollout.waves[].accounts": "account aliases of the wave",
  "pipelines[].rollout.waves[].regions":
    "only these of the accounts' regions (default: all of them)",
  "pipelines[].rollout.waves[].bakeMinutes":
    "minutes to wait after the wave's last refresh ended, before the next wave",
  "pipelines[].rollout.waves[].approval":
    "`manual`: the wave waits for `npm run rollout -- approve`",
  "pipelines[].rollout.autoScalingGroups":
    "the groups to roll in each target: exactly one of `tags`, `names`",
  "pipelines[].rollout.autoScalingGroups.tags": "tags a group must carry (all of them)",
  "pipelines[].rollout.autoScalingGroups.names": "group names (described 50 per call)",
  "pipelines[].rollout.launchTemplate": "what happens to the launch templates",
  "pipelines[].rollout.launchTemplate.setDefaultVersion":
    "make the new version the template's default once a group's refresh to it succeeded",
  "pipelines[].rollout.instanceRefresh": "the instance refresh's preferences",
  "pipelines[].rollout.instanceRefresh.minHealthyPercentage":
    "capacity kept in service during the refresh",
  "pipelines[].rollout.instanceRefresh.maxHealthyPercentage":
    "capacity allowed above desired (launch before terminating); at most 100 above the minimum",
  "pipelines[].rollout.instanceRefresh.instanceWarmup":
    "seconds before a new instance counts as healthy",
  "pipelines[].rollout.instanceRefresh.skipMatching":
    "skip instances already on the new template version (not sent for attribute-based groups)",
  "pipelines[].rollout.instanceRefresh.autoRollback":
    "AWS rolls the group back if the refresh fails (the group is pinned to a numbered version first)",
  "pipelines[].rollout.instanceRefresh.checkpointPercentages": "pause points; must end with 100",
  "pipelines[].rollout.instanceRefresh.checkpointDelay":
    "seconds to pause at each checkpoint (needs checkpoints)",
  "pipelines[].rollout.instanceRefresh.bakeTime":
    "seconds AWS waits at the end of the refresh before calling it complete (the alarms still count)",
  "pipelines[].rollout.instanceRefresh.alarms":
    "CloudWatch alarms that fail (and roll back) the refresh",
  "pipelines[].rollout.instanceRefresh.scaleInProtectedInstances":
    "what the refresh does with scale-in protected instances (AWS default: `Wait`; API model RefreshPreferences)",
  "pipelines[].rollout.instanceRefresh.standbyInstances":
    "what the refresh does with instances in Standby (AWS default: `Wait`; API model RefreshPreferences)",
  "pipelines[].rollout.instanceRefresh.whenInProgress":
    "another refresh is running on the group: wait for it (about 4 hours at most), or cancel it",
  "pipelines[].rollout.instanceRefresh.strategy":
    "`Rolling` replaces instances; `ReplaceRootVolume` swaps root volumes of groups whose overrides all name an `ImageId`",
  "pipelines[].rollout.onSupersede":
    "refreshes still running when a newer image supersedes the rollout: let them finish, or cancel them",
  "pipelines[].rollout.grantPropagationSeconds":
    "wait after creating a KMS grant, before a refresh can launch with it",
  "pipelines[].rollout.healGrants":
    "explain-launch-failure recreates a selected group's lost grant (else it only diagnoses)",
};

/** Paths whose children are described in the sentence instead of rows of their own. */
const SUMMARISED = new Set(["pipelines[].freeze", "pipelines[].rollout.autoScalingGroups.tags"]);

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
}

const typeOf = (schema: JsonSchema): string => {
  if (schema.enum) return schema.enum.map((value) => `\`${String(value)}\``).join(" \\| ");
  if (schema.type === "array") return `list of ${schema.items ? typeOf(schema.items) : "values"}`;
  if (schema.type === "object") return schema.properties ? "object" : "map";
  const bounded = schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER;
  const range =
    schema.minimum !== undefined && bounded
      ? ` ${schema.minimum}–${schema.maximum}`
      : schema.minimum !== undefined
        ? ` ≥ ${schema.minimum}`
        : "";
  return `${schema.type ?? "value"}${range}`;
};

const defaultOf = (schema: JsonSchema): string => {
  if (schema.default === undefined) return "";
  const text = JSON.stringify(schema.default);
  return text.length > 40 ? "(see keys below)" : `\`${text}\``;
};

/** Every key of the schema, depth first, with whether it is required. */
const keysOf = (
  schema: JsonSchema,
  path: string,
  required: boolean,
): Array<{ path: string; schema: JsonSchema; required: boolean }> => {
  const here = path ? [{ path, schema, required }] : [];
  if (SUMMARISED.has(path)) return here;
  const children: Array<{ path: string; schema: JsonSchema; required: boolean }> = [];
  const object = schema.type === "array" ? schema.items : schema;
  const prefix = schema.type === "array" ? `${path}[]` : path;
  if (object?.properties) {
    for (const [name, child] of Object.entries(object.properties))
      children.push(
        ...keysOf(
          child,
          prefix ? `${prefix}.${name}` : name,
          object.required?.includes(name) ?? false,
        ),
      );
  } else if (object && typeof object.additionalProperties === "object") {
    children.push(...keysOf(object.additionalProperties, `${prefix}.<alias>`, false));
  }
  return [...here, ...children];
};

export class ConfigReferenceError extends Error {
  override readonly name = "ConfigReferenceError";
}

/** The reference table: key, type, default, required, meaning. */
export const configReferenceBlock = (): string => {
  const schema = z.toJSONSchema(configSchema, {
    io: "input",
    unrepresentable: "any",
  }) as JsonSchema;
  const keys = keysOf(schema, "", true);
  const missing = keys.filter((key) => MEANING[key.path] === undefined).map((key) => key.path);
  const gone = Object.keys(MEANING).filter((path) => !keys.some((key) => key.path === path));
  if (missing.length > 0 || gone.length > 0)
    throw new ConfigReferenceError(
      [
        ...missing.map(
          (path) =>
            `config key ${path} has no meaning in scripts/docs/config-reference.ts: add one`,
        ),
        ...gone.map(
          (path) =>
            `scripts/docs/config-reference.ts describes ${path}, which the schema no longer has`,
        ),
      ].join("\n"),
    );
  const rows = keys.map(
    (key) =>
      `| \`${key.path}\` | ${typeOf(key.schema)} | ${defaultOf(key.schema)} | ${key.required && key.schema.default === undefined ? "yes" : ""} | ${MEANING[key.path]} |`,
  );
  return [
    "| key | type | default | required | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
};
