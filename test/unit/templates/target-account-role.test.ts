import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { parseCloudFormationYaml } from "../../../lib/deployment/cloudformation.ts";
import {
  INSTANCE_REFRESH_PATTERN,
  LAUNCH_UNSUCCESSFUL_PATTERN,
} from "../../../lib/deployment/index.ts";
import { AUTO_SCALING_GRANT_OPERATIONS } from "../../../lib/kms/grants.ts";
import { targetAccountRole } from "../../../sandbox/iam/policies.ts";
import { repoPath } from "../../helpers/fixtures.ts";

type Statement = { Sid: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const template = parseCloudFormationYaml(
  readFileSync(repoPath("templates/target-account-role.yml"), "utf8"),
);
const serverless = parseCloudFormationYaml(readFileSync(repoPath("serverless.yml"), "utf8"));
const role = template.Resources.OrchestratorTargetRole.Properties;
const statements: Statement[] = role.Policies[0].PolicyDocument.Statement;
const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
const actions = (statement?: Statement) => [statement?.Action ?? []].flat();

describe("target account role template", () => {
  it("trusts exactly roll-out-target's, watch-rollouts' and explain-launch-failure's roles of the stage, only with the ExternalId", async () => {
    const ORCHESTRATOR = "999999999999";
    const trust = targetAccountRole({
      accountId: "111111111111",
      region: "eu-west-1",
      stackName: "ami-orchestrator-target",
      parameters: {
        OrchestratorAccountId: ORCHESTRATOR,
        OrchestratorRegion: "eu-west-1",
        OrchestratorStage: "prod",
        ExternalId: "ext-dev-01",
        RoleName: "ami-orchestrator-target",
        KmsKeyArns: "arn:aws:kms:eu-west-1:999999999999:key/k",
      },
    })?.trustPolicy;
    assert.ok(trust);
    const assume = async (roleName: string, externalId = "ext-dev-01") => {
      const result = await runSimulation(
        {
          request: {
            principal: `arn:aws:sts::${ORCHESTRATOR}:assumed-role/${roleName}/session`,
            action: "sts:AssumeRole",
            resource: {
              resource: "arn:aws:iam::111111111111:role/ami-orchestrator-target",
              accountId: "111111111111",
            },
            contextVariables: {
              "aws:PrincipalArn": `arn:aws:iam::${ORCHESTRATOR}:role/${roleName}`,
              "sts:ExternalId": externalId,
            },
          },
          // Whatever the caller's own policy allows: the trust policy alone decides.
          identityPolicies: [
            {
              name: "admin",
              policy: {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
              },
            },
          ],
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          resourcePolicy: trust,
        },
        {},
      );
      if (result.resultType === "error") return assert.fail(JSON.stringify(result.errors));
      return result.overallResult;
    };

    assert.equal(await assume("ami-orchestrator-prod-roll-out-target"), "Allowed");
    assert.equal(await assume("ami-orchestrator-prod-watch-rollouts"), "Allowed");
    assert.equal(await assume("ami-orchestrator-prod-explain-launch-failure"), "Allowed");
    assert.equal(
      await assume("ami-orchestrator-prod-roll-out-target", "guessed"),
      "ImplicitlyDenied",
    );
    for (const other of [
      "ami-orchestrator-prod-alerts",
      "ami-orchestrator-prod-on-image-state",
      "ami-orchestrator-dev-roll-out-target",
      "ami-orchestrator-anything",
      "Admin",
    ])
      assert.equal(await assume(other), "ImplicitlyDenied", other);
    assert.equal(role.MaxSessionDuration, 3600);
  });

  it("its trusted role names are the ones serverless.yml gives the two functions", () => {
    const names = (logicalId: string) =>
      serverless.resources
        .map(
          (part: { Resources?: Record<string, { Properties?: { RoleName?: string } }> }) =>
            part.Resources?.[logicalId]?.Properties?.RoleName,
        )
        .find(Boolean);
    assert.equal(
      names("RollOutTargetRole"),
      ["$", "{self:custom.derived.rollOutTargetRoleName}"].join(""),
    );
    assert.equal(
      names("WatchRolloutsRole"),
      ["$", "{self:custom.derived.watchRolloutsRoleName}"].join(""),
    );
    const trusted = JSON.stringify(role.AssumeRolePolicyDocument.Statement[0].Condition.ArnEquals);
    assert.match(
      trusted,
      /role\/\$\{OrchestratorService\}-\$\{OrchestratorStage\}-roll-out-target/,
    );
    assert.match(trusted, /role\/\$\{OrchestratorService\}-\$\{OrchestratorStage\}-watch-rollouts/);
  });

  it("grants no mutating action on every resource without a condition", () => {
    const readOnly = /^[a-z0-9-]+:(Describe|Get|List)/;
    for (const statement of statements) {
      const onEverything = statement.Resource === "*";
      for (const action of actions(statement)) {
        if (readOnly.test(action)) continue;
        assert.ok(
          !onEverything || statement.Condition,
          `${statement.Sid}: ${action} on "*" without a condition`,
        );
      }
    }
  });

  it("lets kms:CreateGrant give only the documented operations, only to the Auto Scaling service-linked role", () => {
    const grants = bySid("GrantsForTheAutoScalingServiceLinkedRoleOnly") as Statement & {
      Condition: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(actions(grants), ["kms:CreateGrant"]);
    assert.deepEqual(grants.Condition["ForAllValues:StringEquals"]?.["kms:GrantOperations"], [
      ...AUTO_SCALING_GRANT_OPERATIONS,
    ]);
    assert.match(
      JSON.stringify(grants.Condition.StringLike),
      /aws-service-role\/autoscaling\.amazonaws\.com\/AWSServiceRoleForAutoScaling\*/,
    );
    assert.deepEqual(grants.Resource, { Ref: "KmsKeyArns" });
  });

  it("scopes launch-template and instance-refresh changes to this account, by tag when asked", () => {
    for (const sid of ["LaunchTemplateVersions", "InstanceRefreshes"]) {
      const statement = bySid(sid);
      assert.match(JSON.stringify(statement?.Resource), /\$\{AWS::AccountId\}/);
      assert.match(
        JSON.stringify(statement?.Condition),
        /aws:ResourceTag\/ami-orchestrator:managed/,
      );
    }
  });

  // Every call roll-out-target and watch-rollouts make with this role is checked against it in
  // test/unit/deployment/function-roles.test.ts, from what their bundles call.

  it("lets launch templates tag what they launch, and nothing else", () => {
    const tagging = bySid("TagWhatLaunchTemplatesLaunch");
    assert.deepEqual(actions(tagging), ["ec2:CreateTags"]);
    assert.deepEqual(tagging?.Condition, {
      StringEquals: { "ec2:CreateAction": "RunInstances" },
    });
    const arns = (tagging?.Resource ?? []) as Array<{ "Fn::Sub": string }>;
    const types = arns.map((arn) => /:([\w-]+)\/\*$/.exec(arn["Fn::Sub"])?.[1]);
    for (const type of ["instance", "volume", "network-interface"])
      assert.ok(types.includes(type), type);
    for (const arn of arns) assert.match(arn["Fn::Sub"], /:\$\{AWS::AccountId\}:/);
  });

  it("may describe this account's own keys (aws/ebs, its CMKs) as well as the listed ones", () => {
    const describes = statements.filter((statement) =>
      actions(statement).includes("kms:DescribeKey"),
    );
    const resources = describes.flatMap((statement) => [statement.Resource].flat());
    assert.ok(resources.some((resource) => JSON.stringify(resource) === '{"Ref":"KmsKeyArns"}'));
    const $ = (name: string) => ["$", "{", name, "}"].join("");
    assert.ok(
      resources.some(
        (resource) =>
          JSON.stringify(resource) ===
          JSON.stringify({
            "Fn::Sub": `arn:${$("AWS::Partition")}:kms:*:${$("AWS::AccountId")}:key/*`,
          }),
      ),
      JSON.stringify(resources),
    );
    // Grants stay limited to the listed keys.
    assert.deepEqual(bySid("GrantsForTheAutoScalingServiceLinkedRoleOnly")?.Resource, {
      Ref: "KmsKeyArns",
    });
  });

  it("forwards exactly the instance-refresh events and failed launches the orchestrator's rules accept", () => {
    const forwarded = template.Resources.InstanceRefreshForwardingRule.Properties.EventPattern;
    const watch = serverless.functions["watch-rollouts"].events.find(
      (event: { eventBridge?: unknown }) => event.eventBridge,
    ).eventBridge.pattern;
    // serverless.yml takes its pattern from lib/deployment (through serverless/derived.cjs).
    assert.equal(watch, ["$", "{self:custom.derived.instanceRefreshPattern}"].join(""));
    assert.deepEqual(forwarded.source, INSTANCE_REFRESH_PATTERN.source);
    assert.deepEqual(
      [...forwarded["detail-type"]].sort(),
      [
        ...INSTANCE_REFRESH_PATTERN["detail-type"],
        ...LAUNCH_UNSUCCESSFUL_PATTERN["detail-type"],
      ].sort(),
    );
    const explain = serverless.functions["explain-launch-failure"].events.find(
      (event: { eventBridge?: unknown }) => event.eventBridge,
    ).eventBridge.pattern;
    assert.equal(explain, ["$", "{self:custom.derived.launchUnsuccessfulPattern}"].join(""));
  });

  it("forwards every instance-refresh event to the orchestrator's default bus, in every region it is deployed", () => {
    const rule = template.Resources.InstanceRefreshForwardingRule.Properties;
    assert.deepEqual(rule.EventPattern.source, ["aws.autoscaling"]);
    for (const outcome of [
      "Succeeded",
      "Failed",
      "Cancelled",
      "Rollback Succeeded",
      "Rollback Failed",
    ]) {
      assert.ok(
        rule.EventPattern["detail-type"].includes(`EC2 Auto Scaling Instance Refresh ${outcome}`),
        outcome,
      );
    }
    // CloudFormation's own ${...} placeholders, written literally.
    const $ = (name: string) => ["$", "{", name, "}"].join("");
    const bus = `arn:${$("AWS::Partition")}:events:${$("OrchestratorRegion")}:${$("OrchestratorAccountId")}:event-bus/default`;
    assert.deepEqual(rule.Targets[0].Arn, { "Fn::Sub": bus });
    const forwarding = template.Resources.InstanceRefreshForwardingRole.Properties;
    assert.deepEqual(forwarding.Policies[0].PolicyDocument.Statement[0].Resource, {
      "Fn::Sub": bus,
    });
    // The role once per account; the forwarding (and its regional role name) in every region.
    assert.equal(template.Resources.OrchestratorTargetRole.Condition, "CreateRole");
    assert.equal(template.Resources.InstanceRefreshForwardingRule.Condition, undefined);
    assert.match(JSON.stringify(forwarding.RoleName), /AWS::Region/);
  });
});
