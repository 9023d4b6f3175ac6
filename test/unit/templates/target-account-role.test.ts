import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse, type Tags } from "yaml";
import { AUTO_SCALING_GRANT_OPERATIONS } from "../../../lib/kms/grants.ts";
import { repoPath } from "../../helpers/fixtures.ts";

/** CloudFormation short-form tags, kept as `{ "Fn::X": value }` so the template can be inspected. */
const cloudFormationTags: Tags = ["Ref", "Sub", "GetAtt", "If", "Not", "Equals"].flatMap((name) => {
  const key = name === "Ref" ? "Ref" : `Fn::${name}`;
  const resolve = (value: unknown) => ({ [key]: value });
  return [
    { tag: `!${name}`, resolve, collection: "seq" as const },
    { tag: `!${name}`, resolve, collection: "map" as const },
    { tag: `!${name}`, resolve },
  ];
});

type Statement = { Sid: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const template = parse(readFileSync(repoPath("templates/target-account-role.yml"), "utf8"), {
  customTags: cloudFormationTags,
});
const role = template.Resources.OrchestratorTargetRole.Properties;
const statements: Statement[] = role.Policies[0].PolicyDocument.Statement;
const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
const actions = (statement?: Statement) => [statement?.Action ?? []].flat();

describe("target account role template", () => {
  it("trusts only the orchestrator's roles, and only with the ExternalId", () => {
    const [trust] = role.AssumeRolePolicyDocument.Statement;
    assert.deepEqual(trust.Condition.StringEquals, { "sts:ExternalId": { Ref: "ExternalId" } });
    assert.match(JSON.stringify(trust.Condition.ArnLike), /OrchestratorRolePrefix/);
    assert.equal(role.MaxSessionDuration, 3600);
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

  it("covers every call roll-out-target and watch-rollouts make", () => {
    const allowed = new Set(statements.flatMap(actions));
    for (const action of [
      "autoscaling:DescribeInstanceRefreshes",
      "autoscaling:RollbackInstanceRefresh",
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:StartInstanceRefresh",
      "autoscaling:CancelInstanceRefresh",
      "ec2:DescribeImages",
      "ec2:DescribeSnapshots",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:CreateLaunchTemplateVersion",
      "ec2:ModifyLaunchTemplate",
      "kms:CreateGrant",
      "kms:DescribeKey",
      "iam:GetRole",
      "iam:CreateServiceLinkedRole",
    ]) {
      assert.ok(allowed.has(action), action);
    }
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
