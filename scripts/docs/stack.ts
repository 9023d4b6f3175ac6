/**
 * What the orchestrator stack deploys, for the docs: its functions and alarms from serverless.yml,
 * and the alert kinds from lib/alerts/types.ts. Each row links the page that explains it, so a
 * function, alarm or alert kind added without its docs fails the link check.
 */
import { readFileSync } from "node:fs";
import { readTemplate } from "../../sandbox/iam/cloudformation.ts";
import { SERVERLESS_YML } from "../../sandbox/iam/policies.ts";

interface ServerlessDocument {
  functions: Record<string, { description?: string; timeout?: number }>;
  provider: { timeout?: number; memorySize?: number; region?: string };
  resources: Array<{
    Resources?: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  }>;
}

const serverless = () => readTemplate(SERVERLESS_YML) as unknown as ServerlessDocument;

/** The deployed functions, in serverless.yml's order. */
export const functionNames = (): string[] => Object.keys(serverless().functions);

/** Turns a repository path into a link from the file being generated. */
export type LinkFrom = (repositoryPath: string) => string;

/** One row per function: its name (linking its page), what it does, its timeout. */
export const functionsBlock = (link: LinkFrom): string => {
  const document = serverless();
  const rows = Object.entries(document.functions).map(
    ([name, fn]) =>
      `| [${name}](${link(`docs/functions/${name}.md`)}) | ${fn.description ?? ""} | ${fn.timeout ?? document.provider.timeout ?? 6} s |`,
  );
  return ["| function | what it does | timeout |", "| --- | --- | --- |", ...rows].join("\n");
};

const TOPICS: Record<string, string> = {
  AlarmTopic: "the alarm topic → the alerts function → Slack and email",
  AlertsTopic: "the alerts topic → email only (Slack may be what is failing)",
};

/** One row per CloudWatch alarm: the queue it watches, what it means, who hears it, its runbook entry. */
export const alarmsBlock = (link: LinkFrom): string => {
  const resources = Object.assign(
    {},
    ...serverless().resources.map((part) => part.Resources ?? {}),
  );
  const rows = Object.entries(
    resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
  )
    .filter(([, resource]) => resource.Type === "AWS::CloudWatch::Alarm")
    .map(([logicalId, { Properties: alarm }]) => {
      const dimension = (alarm.Dimensions as Array<{ Value: Record<string, [string, string]> }>)[0];
      const queue = dimension?.Value["Fn::GetAtt"]?.[0] ?? "?";
      const actions = (alarm.AlarmActions as Array<{ Ref: string }>).map(
        (action) => TOPICS[action.Ref] ?? action.Ref,
      );
      return `| [${logicalId}](${link("docs/runbook.md")}#${logicalId.toLowerCase()}) | ${queue} | ${String(alarm.AlarmDescription)} | ${actions.join("; ")} |`;
    });
  return ["| alarm | queue | means | notifies |", "| --- | --- | --- | --- |", ...rows].join("\n");
};

/** The alert kinds the code defines (the `kind`s of lib/alerts/types.ts's Alert union). */
export const alertKinds = (root: string): string[] => {
  const source = readFileSync(`${root}/lib/alerts/types.ts`, "utf8");
  const kinds = [...source.matchAll(/readonly kind: "([a-z-]+)"/g)].map((match) => match[1] ?? "");
  if (kinds.length === 0) throw new Error("lib/alerts/types.ts: no alert kind found");
  return kinds;
};

/** One link per alert kind to its runbook entry. */
export const alertKindsBlock = (root: string, link: LinkFrom): string =>
  alertKinds(root)
    .map((kind) => `[\`${kind}\`](${link("docs/runbook.md")}#${kind})`)
    .join(" · ");
