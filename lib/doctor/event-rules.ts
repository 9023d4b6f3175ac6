import {
  DescribeRuleCommand,
  type EventBridgeClient,
  ListRuleNamesByTargetCommand,
} from "@aws-sdk/client-eventbridge";
import type { AccountConfig } from "../config/schema.ts";
import {
  IMAGE_STATE_PATTERN,
  INSTANCE_REFRESH_PATTERN,
  LAUNCH_UNSUCCESSFUL_PATTERN,
  PIPELINE_AUTO_DISABLED_PATTERN,
} from "../deployment/index.ts";
import { errorMessage } from "../errors.ts";
import { LAUNCH_UNSUCCESSFUL_DETAIL_TYPE } from "../events/launch-unsuccessful.ts";
import type { OrchestratorDeployment } from "./deployment.ts";
import { type DoctorCheck, fail, pass } from "./report.ts";

/**
 * The doctor's EventBridge checks: does each target region forward its instance-refresh and
 * failed-launch events to the orchestrator's bus (templates/target-account-role.yml), and does
 * each of the orchestrator's event-triggered functions have the enabled rule serverless.yml gives
 * it? Read-only: ListRuleNamesByTarget, then DescribeRule for each rule found.
 */

interface DescribedRule {
  readonly name: string;
  readonly state: string;
  readonly pattern?: unknown;
  readonly schedule?: string;
}

/**
 * The rules of the default bus that target `targetArn`, described. ListRuleNamesByTarget pages by
 * NextToken (at most 100 a page; the JS SDK has no paginator for it).
 */
const rulesTargeting = async (
  client: EventBridgeClient,
  targetArn: string,
): Promise<DescribedRule[]> => {
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(
      new ListRuleNamesByTargetCommand({ TargetArn: targetArn, NextToken }),
    );
    names.push(...(page.RuleNames ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return Promise.all(
    names.map(async (name) => {
      const rule = await client.send(new DescribeRuleCommand({ Name: name }));
      return {
        name,
        state: rule.State ?? "ENABLED",
        ...(rule.EventPattern ? { pattern: JSON.parse(rule.EventPattern) } : {}),
        ...(rule.ScheduleExpression ? { schedule: rule.ScheduleExpression } : {}),
      };
    }),
  );
};

/**
 * RuleState (events API model): ENABLED matches every event but AWS management events delivered
 * through CloudTrail; ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS matches those too (API
 * reference, PutRule State). Either way the rule matches the events checked here; DISABLED
 * matches none.
 */
const isEnabled = (state: string) =>
  state === "ENABLED" || state === "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

const isObject = (value: unknown): value is Record<string, unknown> =>
  Boolean(value) && typeof value === "object" && !Array.isArray(value);

/**
 * Whether a rule's pattern matches every event `expected` matches, for literal-value patterns:
 * each field the rule filters on must be one `expected` filters on too, with every value
 * `expected` accepts among the rule's (a field the rule leaves out matches anything). Content
 * filters (prefix, anything-but...) in the rule are not read as covering anything.
 */
export const patternCovers = (rule: unknown, expected: unknown): boolean => {
  if (!isObject(rule) || !isObject(expected)) return false;
  return Object.entries(rule).every(([key, filter]) => {
    const wanted = expected[key];
    if (Array.isArray(filter))
      return (
        Array.isArray(wanted) &&
        wanted.every((value) => filter.some((accepted) => accepted === value))
      );
    return patternCovers(filter, wanted);
  });
};

/** A pattern split by detail-type, so a check can name exactly the detail-types not covered. */
const byDetailType = (pattern: { "detail-type": readonly string[] }) =>
  pattern["detail-type"].map((detailType) => ({
    detailType,
    pattern: { ...pattern, "detail-type": [detailType] },
  }));

/**
 * What a rule must cover, of `patterns`, that none of `rules` does: only enabled rules count,
 * unless `anyState` (what a disabled rule would cover once enabled).
 */
const uncovered = (
  rules: readonly DescribedRule[],
  patterns: ReadonlyArray<{ "detail-type": readonly string[] }>,
  anyState = false,
): string[] =>
  patterns
    .flatMap(byDetailType)
    .filter(
      ({ pattern }) =>
        !rules.some(
          (rule) => (anyState || isEnabled(rule.state)) && patternCovers(rule.pattern, pattern),
        ),
    )
    .map(({ detailType }) => detailType);

/** The events a target region forwards: instance refreshes (watch-rollouts), failed launches. */
const FORWARDED = [INSTANCE_REFRESH_PATTERN, LAUNCH_UNSUCCESSFUL_PATTERN];

/**
 * The template's InstanceRefreshForwardingRule, put back by hand in `region`: its pattern (every
 * forwarded detail-type) and its target, the orchestrator's bus through the stack's role
 * `<RoleName>-events-<region>` (templates/target-account-role.yml).
 */
const recreateRule = (
  account: AccountConfig,
  region: string,
  deployment: OrchestratorDeployment,
): string => {
  const name = "ami-orchestrator-forwarding";
  const pattern = JSON.stringify({
    source: ["aws.autoscaling"],
    "detail-type": FORWARDED.flatMap((forwarded) => forwarded["detail-type"]),
  });
  const target = JSON.stringify([
    {
      Id: "ami-orchestrator",
      Arn: deployment.busArn,
      RoleArn: `arn:${deployment.partition}:iam::${account.id}:role/${account.roleName}-events-${region}`,
    },
  ]);
  return `with account ${account.id}'s credentials: aws events put-rule --region ${region} --name ${name} --event-pattern '${pattern}' && aws events put-targets --region ${region} --rule ${name} --targets '${target}'`;
};

/**
 * Item 6: in the target region, through the target role, an enabled rule forwards every
 * instance-refresh detail-type and "EC2 Instance Launch Unsuccessful" to the orchestrator's bus.
 */
export const checkForwarding = async (
  client: EventBridgeClient,
  target: { alias: string; account: AccountConfig; region: string },
  deployment: OrchestratorDeployment,
): Promise<DoctorCheck> => {
  const { account, region } = target;
  const check = "forwarding";
  const deploy = `with account ${account.id}'s credentials: aws cloudformation deploy --stack-name ami-orchestrator-events --region ${region} --template-file templates/target-account-role.yml --capabilities CAPABILITY_NAMED_IAM --parameter-overrides Component=forwarding-only OrchestratorAccountId=${deployment.accountId} OrchestratorRegion=${deployment.region} OrchestratorService=${deployment.service} OrchestratorStage=${deployment.stage} RoleName=${account.roleName} ExternalId=unused KmsKeyArns=none`;
  let rules: DescribedRule[];
  try {
    rules = await rulesTargeting(client, deployment.busArn);
  } catch (error) {
    return fail(
      check,
      `could not read the rules: ${errorMessage(error)}`,
      `update the role's stack in ${account.id} to the current templates/target-account-role.yml (its role may read rules: events:ListRuleNamesByTarget, events:DescribeRule)`,
    );
  }
  const missing = uncovered(rules, FORWARDED);
  if (missing.length === 0) {
    const names = rules.filter((rule) => isEnabled(rule.state)).map((rule) => rule.name);
    return pass(check, `${names.join(", ")} → ${deployment.busArn}`);
  }
  const lost = `instance refreshes here are seen only by the 5-minute poll${missing.includes(LAUNCH_UNSUCCESSFUL_DETAIL_TYPE) ? ", failed launches not at all" : ""}`;
  if (rules.length === 0)
    return fail(
      check,
      `no rule in ${account.id}/${region} sends events to ${deployment.busArn}: ${lost}`,
      // A stack of the template already in this region whose rule was deleted by hand: a second
      // stack would collide on its forwarding role's name, and updating the stack does not
      // recreate what was deleted outside CloudFormation; the rule is put back as the template
      // makes it, through the stack's forwarding role.
      `${deploy} (if a stack of templates/target-account-role.yml is already deployed in ${region}, its rule was deleted outside CloudFormation, which does not recreate it: ${recreateRule(account, region, deployment)})`,
    );
  // Disabled rules that would forward some of what is missing, once enabled.
  const disabled = rules.filter((rule) => {
    const notByRule = uncovered([rule], FORWARDED, true);
    return !isEnabled(rule.state) && missing.some((type) => !notByRule.includes(type));
  });
  if (disabled.length > 0)
    return fail(
      check,
      `${disabled.map((rule) => rule.name).join(", ")} ${disabled.length > 1 ? "are" : "is"} ${disabled[0]?.state}: ${lost}`,
      disabled
        .map((rule) => `aws events enable-rule --region ${region} --name ${rule.name}`)
        .join("; "),
    );
  return fail(
    check,
    `${rules.map((rule) => rule.name).join(", ")} forward${rules.length > 1 ? "" : "s"} to ${deployment.busArn} but not: ${missing.join(", ")}; ${lost}`,
    `update the stack that created ${rules[0]?.name} in ${region} to the current templates/target-account-role.yml, or ${deploy}`,
  );
};

/**
 * `checkForwarding` for the doctor (DoctorDeps.checkForwarding), once per account and region
 * however many pipelines roll out there; `events` reaches a target region through its role.
 */
export const forwardingChecker = (
  events: (account: AccountConfig, region: string) => EventBridgeClient,
  deployment: OrchestratorDeployment,
) => {
  const checked = new Map<string, Promise<DoctorCheck>>();
  return (target: { alias: string; account: AccountConfig; region: string }) => {
    const key = `${target.account.id}|${target.region}`;
    const known = checked.get(key);
    if (known) return known;
    const check = checkForwarding(events(target.account, target.region), target, deployment);
    checked.set(key, check);
    return check;
  };
};

/** The rules serverless.yml gives the orchestrator's event-triggered functions. */
const ORCHESTRATOR_RULES: ReadonlyArray<{
  readonly fn: string;
  readonly what: string;
  readonly pattern?: { "detail-type": readonly string[] };
}> = [
  { fn: "on-image-state", what: "image state changes", pattern: IMAGE_STATE_PATTERN },
  {
    fn: "on-image-state",
    what: "pipelines Image Builder disabled",
    pattern: PIPELINE_AUTO_DISABLED_PATTERN,
  },
  { fn: "watch-rollouts", what: "forwarded instance refreshes", pattern: INSTANCE_REFRESH_PATTERN },
  // The poll (serverless.yml `schedule: rate(5 minutes)`): a schedule rule.
  { fn: "watch-rollouts", what: "the poll schedule" },
  {
    fn: "explain-launch-failure",
    what: "forwarded failed launches",
    pattern: LAUNCH_UNSUCCESSFUL_PATTERN,
  },
];

/**
 * Item 7 (rules): in the orchestrator's account and region, each event-triggered function has an
 * enabled rule targeting it that matches what it must receive (the patterns of lib/deployment,
 * which serverless.yml deploys), and watch-rollouts its poll schedule.
 */
export const checkEventRules = async (
  client: EventBridgeClient,
  deployment: OrchestratorDeployment,
): Promise<DoctorCheck[]> => {
  const redeploy = `npx serverless deploy --stage ${deployment.stage} (it recreates the function's rules)`;
  const byFunction = new Map<string, Promise<DescribedRule[]>>();
  const rulesOf = (fn: string) => {
    const known = byFunction.get(fn);
    if (known) return known;
    const rules = rulesTargeting(client, deployment.functionArn(fn));
    byFunction.set(fn, rules);
    return rules;
  };
  return Promise.all(
    ORCHESTRATOR_RULES.map(async ({ fn, what, pattern }): Promise<DoctorCheck> => {
      const check = `rule ${fn}: ${what}`;
      let rules: DescribedRule[];
      try {
        rules = await rulesOf(fn);
      } catch (error) {
        return fail(
          check,
          `could not read the rules: ${errorMessage(error)}`,
          "deploy serverless.yml as it is (watch-rollouts' role may read rules)",
        );
      }
      const fits = (rule: DescribedRule) =>
        pattern ? uncovered([rule], [pattern], true).length === 0 : Boolean(rule.schedule);
      const enabled = rules.find((rule) => isEnabled(rule.state) && fits(rule));
      if (enabled)
        return pass(
          check,
          `${enabled.name} ${enabled.state}${enabled.schedule ? `, ${enabled.schedule}` : ""}`,
        );
      const disabled = rules.find((rule) => fits(rule));
      if (disabled)
        return fail(
          check,
          `${disabled.name} is ${disabled.state}: ${fn} receives no ${what}`,
          `aws events enable-rule --region ${deployment.region} --name ${disabled.name}`,
        );
      const missing = pattern ? uncovered(rules, [pattern]) : [];
      return fail(
        check,
        `no enabled rule sends ${fn} ${what}${missing.length > 0 ? ` (${missing.join(", ")})` : ""}`,
        redeploy,
      );
    }),
  );
};
