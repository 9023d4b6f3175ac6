import { type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import pMap from "p-map";
import { lineageLines } from "./lineage.ts";
import { readMismatches } from "./mismatches.ts";
import { rolloutNameOf } from "./plan.ts";
// The read functions themselves, not the store object: status only reads, and what its bundle
// calls is what an operator's policy must allow (lib/operator/permissions.ts).
import {
  getRollout,
  getTarget,
  latestRollouts,
  listActiveRollouts,
  listGroups,
  loadRollout,
  type RolloutRecord,
  type RolloutState,
  type TargetRecord,
  targetPages,
} from "./store/index.ts";
import { PROGRESS_INDEX } from "./wave-progress.ts";

interface RecentOptions {
  readonly pipelines: readonly string[];
  readonly perPipeline?: number;
}

/** The given pipelines' latest rollouts, and every unfinished one of those pipelines (or all). */
const recentIds = async (
  db: DynamoDBDocumentClient,
  table: string,
  options: RecentOptions,
): Promise<Set<string>> => {
  const ids = new Set<string>();
  for (const pipeline of options.pipelines) {
    for (const id of await latestRollouts(db, table, pipeline, options.perPipeline ?? 3))
      ids.add(id);
  }
  for (const active of await listActiveRollouts(db, table)) {
    if (options.pipelines.length === 0 || options.pipelines.includes(active.pipeline))
      ids.add(active.rolloutId);
  }
  return ids;
};

/**
 * The latest rollouts of one pipeline, or of every pipeline that has an unfinished one plus the
 * given pipelines' latest, newest first.
 */
export const recentRollouts = async (
  db: DynamoDBDocumentClient,
  table: string,
  options: RecentOptions,
): Promise<RolloutState[]> => {
  const states: RolloutState[] = [];
  for (const id of await recentIds(db, table, options)) {
    const state = await loadRollout(db, table, id);
    if (state) states.push(state);
  }
  return states.sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt));
};

/** The same rollouts as `recentRollouts`, their records only (the targets are paged after). */
export const recentRolloutRecords = async (
  db: DynamoDBDocumentClient,
  table: string,
  options: RecentOptions,
): Promise<RolloutRecord[]> => {
  const records = await pMap(
    [...(await recentIds(db, table, options))],
    (id) => getRollout(db, table, id),
    { concurrency: 8 },
  );
  return records
    .filter((record): record is RolloutRecord => record !== undefined)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
};

const time = (iso?: string) => (iso ? iso.replace("T", " ").slice(0, 16) : "");

/** Columns padded to their widest cell. */
export const table = (rows: ReadonlyArray<readonly string[]>): string[] => {
  const widths = (rows[0] ?? []).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] ?? "").length)),
  );
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
};

const targetKey = (target: Pick<TargetRecord, "accountId" | "region">) =>
  `${target.accountId}|${target.region}`;

/**
 * One mismatch list: the record's first entries, and when there are more, how many and where the
 * whole list is (its own items, which `status --mismatches` pages through).
 */
const mismatchLine = (
  label: string,
  sample: readonly string[],
  count = sample.length,
): string[] => {
  if (count === 0) return [];
  const rest =
    count > sample.length
      ? ` … (${count} in all; every one: npm run rollout -- status --mismatches)`
      : "";
  return [`  ${label}: ${sample.join(", ")}${rest}`];
};

/** Every entry of a rollout's mismatch lists, one line each, read page by page. */
export async function* mismatchLines(
  db: DynamoDBDocumentClient,
  tableName: string,
  record: RolloutRecord,
): AsyncGenerator<string> {
  for await (const page of readMismatches(db, tableName, record, "targetsWithoutAmi")) {
    for (const target of page)
      yield `  no AMI: ${target.wave} ${target.account} ${target.accountId} ${target.region}`;
  }
  for await (const page of readMismatches(db, tableName, record, "amisWithoutTarget")) {
    for (const ami of page) yield `  no target: ${ami.accountId} ${ami.region} ${ami.image}`;
  }
}

/** The lines above the table: image, status, waves, the reason, the mismatch samples, the lineage. */
const headerLines = (record: RolloutRecord, waveNames: readonly string[]): string[] => {
  const waves = Array.from({ length: record.waveCount }, (_, index) => {
    const name = waveNames[index] ?? String(index);
    const mark =
      index <= record.dispatchedWave
        ? "sent"
        : record.approvals?.[String(index)]
          ? "approved"
          : "pending";
    return `${name} (${mark})`;
  });
  return [
    `${record.name ?? record.rolloutId}  ${record.pipeline}  ${record.status.toUpperCase()}`,
    `  image ${record.imageArn}`,
    `  created ${time(record.createdAt)}${record.finishedAt ? `  ended ${time(record.finishedAt)}` : ""}  waves: ${waves.join(" → ")}`,
    ...(record.supersededBy
      ? [`  superseded by ${record.supersededBy.split(":image/")[1] ?? record.supersededBy}`]
      : []),
    ...(record.reason ? [`  reason: ${record.reason}`] : []),
    ...mismatchLine(
      "no AMI distributed to",
      record.targetsWithoutAmi.map((t) => `${t.account}/${t.region}`),
      record.targetsWithoutAmiCount,
    ),
    ...mismatchLine(
      "AMIs no wave rolls out to",
      record.amisWithoutTarget.map((ami) => `${ami.accountId}/${ami.region} ${ami.image}`),
      record.amisWithoutTargetCount,
    ),
    // Last, above the table its "→ template versions → groups" points at.
    ...(record.lineage
      ? lineageLines(record.lineage, record.name ?? rolloutNameOf(record.imageArn))
      : []),
  ];
};

const COLUMNS = [
  "wave",
  "account",
  "region",
  "target",
  "group",
  "template",
  "version",
  "grants",
  "refresh",
  "status",
];

/** One row per group of each target (one for a target with none), then unsupported groups. */
const targetRows = (
  targets: readonly TargetRecord[],
  groups: RolloutState["groups"],
): string[][] => {
  const rows: string[][] = [];
  const sorted = [...targets].sort(
    (a, b) => a.waveIndex - b.waveIndex || targetKey(a).localeCompare(targetKey(b)),
  );
  for (const target of sorted) {
    const own = groups.filter((group) => targetKey(group) === targetKey(target));
    const grants = String(target.grants?.length ?? "");
    const base = [
      target.wave,
      `${target.account} ${target.accountId}`,
      target.region,
      target.status,
    ];
    if (own.length === 0) {
      rows.push([...base, "", "", "", grants, "", target.reason ?? ""]);
      continue;
    }
    for (const group of own) {
      const versions =
        group.previousVersion === undefined
          ? ""
          : group.previousVersion === group.newVersion
            ? `${group.previousVersion} (unchanged)`
            : `${group.previousVersion} → ${group.newVersion}`;
      const refresh = group.instanceRefreshId ? group.instanceRefreshId.slice(0, 8) : "";
      const outcome = [
        group.refreshStatus ?? group.status,
        group.percentageComplete !== undefined && group.refreshStatus === "InProgress"
          ? `${group.percentageComplete}%`
          : "",
        group.rollbackRefreshId ? `rollback ${group.rollbackRefreshId.slice(0, 8)}` : "",
        // AWS refreshes an attribute-based group only after it is updated, and cannot roll it back.
        group.rolledBy === "group-update" ? "(group updated, then refreshed; our rollback)" : "",
        group.overrideImages
          ? `(overrides: ${Object.keys(group.overrideImages).join(", ")} → new AMI)`
          : "",
        group.status === "failed" || group.status === "rolled-back" ? (group.reason ?? "") : "",
      ]
        .filter(Boolean)
        .join(" ");
      rows.push([
        ...base,
        group.group,
        group.launchTemplateId ?? "",
        versions,
        grants,
        refresh,
        outcome,
      ]);
    }
  }
  for (const target of sorted) {
    for (const group of target.unsupportedGroups ?? []) {
      const reason = `unsupported: ${group.reason.split(";")[0]}`;
      rows.push([
        target.wave,
        `${target.account} ${target.accountId}`,
        target.region,
        "",
        group.name,
        "",
        "",
        "",
        "",
        reason,
      ]);
    }
  }
  return rows;
};

/**
 * A rollout as an operator reads it: image, status, waves, then per target and group the
 * template versions before and after, the grants, the refresh and its outcome. For a rollout
 * already in memory; `rolloutStatusLines` pages through a large one.
 */
export const renderRollout = (state: RolloutState, waveNames: readonly string[] = []): string =>
  [
    ...headerLines(state.record, waveNames),
    ...table([COLUMNS, ...targetRows(state.targets, state.groups)]).map((line) => `  ${line}`),
  ].join("\n");

export interface StatusOptions {
  /** Targets listed per rollout (the rest are counted); undefined: every one. */
  readonly limit?: number;
  /** Only the failed targets (from the progress index). */
  readonly failedOnly?: boolean;
}

/** Targets read and rendered at once: the table's columns are as wide as each page needs. */
const PAGE = 100;

/**
 * A rollout's status, page by page (issue 20): the header, the counts per state from the
 * progress index, then the targets (or only the failed ones) with their groups, `PAGE` targets
 * at a time, up to `limit`. Memory and reads stay bounded by what is shown, whatever the fleet.
 */
export async function* rolloutStatusLines(
  db: DynamoDBDocumentClient,
  tableName: string,
  record: RolloutRecord,
  waveNames: readonly string[],
  options: StatusOptions = {},
): AsyncGenerator<string> {
  yield* headerLines(record, waveNames);
  const total = (record.waveTargets ?? []).reduce((sum, count) => sum + count, 0);
  if (record.progressIndexed) {
    const [open, failed] = await Promise.all([
      countProgress(db, tableName, record.rolloutId, "open#"),
      countProgress(db, tableName, record.rolloutId, "failed#"),
    ]);
    yield `  targets: ${total.toLocaleString("en")} · succeeded ${(total - open - failed).toLocaleString("en")} · failed ${failed.toLocaleString("en")} · not finished ${open.toLocaleString("en")}`;
  }
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let shown = 0;
  const pages = options.failedOnly
    ? failedTargetPages(db, tableName, record.rolloutId)
    : targetPages(db, tableName, record.rolloutId, Math.min(PAGE, limit));
  for await (const page of pages) {
    const targets = page.slice(0, Math.max(0, limit - shown));
    if (targets.length === 0) break;
    const groups = (
      await pMap(targets, (target) => listGroups(db, tableName, record.rolloutId, target), {
        concurrency: 8,
      })
    ).flat();
    const rows = targetRows(
      targets,
      groups.map((group) => ({ ...group, rolloutId: record.rolloutId })),
    );
    for (const line of table([COLUMNS, ...rows]).slice(shown === 0 ? 0 : 1)) yield `  ${line}`;
    shown += targets.length;
  }
  const of = options.failedOnly ? undefined : total;
  if (of !== undefined && of > shown)
    yield `  … ${(of - shown).toLocaleString("en")} more target(s): --all lists every one, --failed the failed ones`;
}

/** The failed targets, from the progress index, each read whole. */
async function* failedTargetPages(
  db: DynamoDBDocumentClient,
  tableName: string,
  rolloutId: string,
): AsyncGenerator<TargetRecord[]> {
  for await (const page of paginateQuery(
    { client: db, pageSize: PAGE },
    {
      TableName: tableName,
      IndexName: PROGRESS_INDEX,
      KeyConditionExpression: "pk = :pk AND begins_with(progress, :prefix)",
      ExpressionAttributeValues: { ":pk": `ROLLOUT#${rolloutId}`, ":prefix": "failed#" },
    },
  )) {
    const targets = await pMap(
      page.Items ?? [],
      (item) =>
        getTarget(db, tableName, rolloutId, {
          accountId: String(item.accountId),
          region: String(item.region),
        }),
      { concurrency: 8 },
    );
    yield targets.filter((target): target is TargetRecord => target !== undefined);
  }
}

/**
 * How many of the rollout's index entries start with `prefix`, counted by DynamoDB (`Select:
 * COUNT`: the entries are read, keys and a few attributes, but none is returned).
 */
const countProgress = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  rolloutId: string,
  prefix: string,
): Promise<number> => {
  let count = 0;
  for await (const page of paginateQuery(
    { client: db },
    {
      TableName: tableName,
      IndexName: PROGRESS_INDEX,
      KeyConditionExpression: "pk = :pk AND begins_with(progress, :prefix)",
      ExpressionAttributeValues: { ":pk": `ROLLOUT#${rolloutId}`, ":prefix": prefix },
      Select: "COUNT",
    },
  ))
    count += page.Count ?? 0;
  return count;
};
