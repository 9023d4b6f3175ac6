import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { readMismatches } from "./mismatches.ts";
import {
  latestRollouts,
  listActiveRollouts,
  loadRollout,
  type RolloutRecord,
  type RolloutState,
  type TargetRecord,
} from "./store.ts";

/**
 * The latest rollouts of one pipeline, or of every pipeline that has an unfinished one plus the
 * given pipelines' latest, newest first.
 */
export const recentRollouts = async (
  db: DynamoDBDocumentClient,
  table: string,
  options: { pipelines: readonly string[]; perPipeline?: number },
): Promise<RolloutState[]> => {
  const ids = new Set<string>();
  for (const pipeline of options.pipelines) {
    for (const id of await latestRollouts(db, table, pipeline, options.perPipeline ?? 3))
      ids.add(id);
  }
  for (const active of await listActiveRollouts(db, table)) {
    if (options.pipelines.length === 0 || options.pipelines.includes(active.pipeline))
      ids.add(active.rolloutId);
  }
  const states: RolloutState[] = [];
  for (const id of ids) {
    const state = await loadRollout(db, table, id);
    if (state) states.push(state);
  }
  return states.sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt));
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

/**
 * A rollout as an operator reads it: image, status, waves, then per target and group the
 * template versions before and after, the grants, the refresh and its outcome.
 */
export const renderRollout = (state: RolloutState, waveNames: readonly string[] = []): string => {
  const { record } = state;
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
  const header = [
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
  ];
  const rows: string[][] = [
    [
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
    ],
  ];
  const targets = [...state.targets].sort(
    (a, b) => a.waveIndex - b.waveIndex || targetKey(a).localeCompare(targetKey(b)),
  );
  for (const target of targets) {
    const groups = state.groups.filter((group) => targetKey(group) === targetKey(target));
    const grants = String(target.grants?.length ?? "");
    const base = [
      target.wave,
      `${target.account} ${target.accountId}`,
      target.region,
      target.status,
    ];
    if (groups.length === 0) {
      rows.push([...base, "", "", "", grants, "", target.reason ?? ""]);
      continue;
    }
    for (const group of groups) {
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
  for (const target of targets) {
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
  return [...header, ...table(rows).map((line) => `  ${line}`)].join("\n");
};
