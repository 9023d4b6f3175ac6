import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import {
  groupRequests,
  launchRequests,
  SimulationUnavailableError,
  simulate,
  TARGET_ROLE_STATEMENTS,
} from "../../../lib/doctor/launch-permissions.ts";
import { readTemplate, TemplateResolver } from "../../../sandbox/iam/cloudformation.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const TARGET = "111111111111";

/** The target role's statements as CloudFormation would create them, by Sid. */
const deployedStatements = (): Map<string, Record<string, unknown>> => {
  const resolver = new TemplateResolver(
    readTemplate(repoPath("templates/target-account-role.yml")),
    {
      accountId: TARGET,
      region: "eu-west-1",
      stackName: "ami-orchestrator-target",
      parameters: {
        OrchestratorAccountId: "999999999999",
        OrchestratorStage: "prod",
        OrchestratorRegion: "eu-west-1",
        ExternalId: "ext-01",
        KmsKeyArns: "arn:aws:kms:eu-west-1:999999999999:key/1f2e3d4c-0000-4a5b-8c9d-111122223333",
      },
    },
  );
  const role = resolver.resource("OrchestratorTargetRole") as {
    Policies: Array<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }>;
  };
  return new Map(
    role.Policies.flatMap((policy) => policy.PolicyDocument.Statement).map((statement) => [
      String(statement.Sid),
      statement,
    ]),
  );
};

describe("the statements the doctor tells a user to add", () => {
  // A fix that names a statement must name the one the template deploys, word for word.
  it("are the target template's own, as deployed", () => {
    const deployed = deployedStatements();
    assert.deepEqual(TARGET_ROLE_STATEMENTS.runInstances(TARGET), [
      deployed.get("LaunchThroughTemplatesOnly"),
      deployed.get("LaunchThroughTemplatesInTheGroupsSubnets"),
    ]);
    assert.deepEqual(
      TARGET_ROLE_STATEMENTS.createTags(TARGET),
      deployed.get("TagWhatLaunchTemplatesLaunch"),
    );
    const passRole = TARGET_ROLE_STATEMENTS.passRole(`arn:aws:iam::${TARGET}:role/web`);
    const { Resource: _resource, ...deployedPassRole } =
      deployed.get("PassInstanceRolesToEc2") ?? {};
    const { Resource, ...rest } = passRole;
    assert.deepEqual(rest, deployedPassRole);
    assert.equal(Resource, `arn:aws:iam::${TARGET}:role/web`);
  });
});

describe("what is simulated", () => {
  it("every group action, on the group's ARN, with its tags as resource-tag context", () => {
    const requests = groupRequests(
      "arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:u:autoScalingGroupName/web",
      {
        "ami-orchestrator:managed": "true",
      },
    );
    assert.deepEqual(
      requests.map((request) => request.action),
      [
        "autoscaling:StartInstanceRefresh",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:CancelInstanceRefresh",
        "autoscaling:RollbackInstanceRefresh",
      ],
    );
    assert.deepEqual(
      requests[0]?.context.map((entry) => [entry.ContextKeyName, entry.ContextKeyValues?.[0]]),
      [
        // Without it, a region-deny SCP (a negated condition on a key not given) would deny.
        ["aws:RequestedRegion", "eu-west-1"],
        ["aws:ResourceTag/ami-orchestrator:managed", "true"],
        ["autoscaling:ResourceTag/ami-orchestrator:managed", "true"],
      ],
    );
  });

  it("a template's launch: RunInstances through it, PassRole of its instance role, CreateTags per tag specification", () => {
    const requests = launchRequests({
      launchTemplateId: "lt-0123456789abcdef0",
      accountId: TARGET,
      region: "eu-west-1",
      partition: "aws",
      amiId: "ami-0123456789abcdef0",
      instanceRoleArn: `arn:aws:iam::${TARGET}:role/web`,
      data: {
        TagSpecifications: [
          { ResourceType: "instance", Tags: [{ Key: "team", Value: "web" }] },
          { ResourceType: "volume", Tags: [{ Key: "team", Value: "web" }] },
        ],
      },
    });
    assert.deepEqual(
      requests.map((request) => `${request.action} ${request.resource}`),
      [
        `ec2:RunInstances arn:aws:ec2:eu-west-1:${TARGET}:launch-template/lt-0123456789abcdef0`,
        `ec2:RunInstances arn:aws:ec2:eu-west-1:${TARGET}:instance/*`,
        "ec2:RunInstances arn:aws:ec2:eu-west-1::image/ami-0123456789abcdef0",
        `iam:PassRole arn:aws:iam::${TARGET}:role/web`,
        `ec2:CreateTags arn:aws:ec2:eu-west-1:${TARGET}:instance/*`,
        `ec2:CreateTags arn:aws:ec2:eu-west-1:${TARGET}:volume/*`,
      ],
    );
    const tagging = requests.at(-1)?.context ?? [];
    assert.deepEqual(
      tagging.find((entry) => entry.ContextKeyName === "ec2:CreateAction")?.ContextKeyValues,
      ["RunInstances"],
    );
    assert.deepEqual(
      launchRequests({
        launchTemplateId: "lt-0123456789abcdef0",
        accountId: TARGET,
        region: "eu-west-1",
        partition: "aws",
        amiId: "ami-0123456789abcdef0",
        data: {},
      }).map((request) => request.action),
      ["ec2:RunInstances", "ec2:RunInstances", "ec2:RunInstances"],
      "no instance profile, no tag specifications: RunInstances only",
    );
  });
});

describe("reading SimulatePrincipalPolicy's answer", () => {
  const ROLE = `arn:aws:iam::${TARGET}:role/ami-orchestrator-target`;
  const TEMPLATE = `arn:aws:ec2:eu-west-1:${TARGET}:launch-template/lt-0123456789abcdef0`;
  const INSTANCES = `arn:aws:ec2:eu-west-1:${TARGET}:instance/*`;
  const requests = [TEMPLATE, INSTANCES].map((resource) => ({
    action: "ec2:RunInstances",
    resource,
    context: [],
  }));
  const iam = mockClient(IAMClient);
  beforeEach(() => iam.reset());

  it("one result per action with a decision per resource (ResourceSpecificResults)", async () => {
    iam.on(SimulatePrincipalPolicyCommand).resolves({
      IsTruncated: false,
      EvaluationResults: [
        {
          EvalActionName: "ec2:RunInstances",
          EvalResourceName: TEMPLATE,
          EvalDecision: "implicitDeny",
          ResourceSpecificResults: [
            { EvalResourceName: TEMPLATE, EvalResourceDecision: "allowed" },
            {
              EvalResourceName: INSTANCES,
              EvalResourceDecision: "implicitDeny",
              MissingContextValues: ["ec2:LaunchTemplate"],
            },
          ],
        },
      ],
    });
    const results = await simulate(new IAMClient({}), ROLE, requests);
    assert.deepEqual(
      results.map((result) => [result.resource, result.decision, result.missingContext]),
      [
        [TEMPLATE, "allowed", []],
        [INSTANCES, "implicitDeny", ["ec2:LaunchTemplate"]],
      ],
    );
  });

  it("one result per action and resource, and a deny named after the SCP that made it", async () => {
    iam.on(SimulatePrincipalPolicyCommand).resolves({
      IsTruncated: false,
      EvaluationResults: [TEMPLATE, INSTANCES].map((resource) => ({
        EvalActionName: "ec2:RunInstances",
        EvalResourceName: resource,
        EvalDecision: "explicitDeny",
        OrganizationsDecisionDetail: { AllowedByOrganizations: false },
      })),
    });
    const results = await simulate(new IAMClient({}), ROLE, requests);
    assert.deepEqual(
      results.map((result) => [result.decision, result.deniedBy]),
      [
        ["explicitDeny", "an SCP of the organization"],
        ["explicitDeny", "an SCP of the organization"],
      ],
    );
  });

  it("a boundary that does not allow an action is named even without an explicit deny, resource by resource", async () => {
    iam.on(SimulatePrincipalPolicyCommand).resolves({
      IsTruncated: false,
      EvaluationResults: [
        {
          EvalActionName: "ec2:RunInstances",
          EvalResourceName: TEMPLATE,
          EvalDecision: "implicitDeny",
          ResourceSpecificResults: [
            {
              EvalResourceName: TEMPLATE,
              EvalResourceDecision: "implicitDeny",
              PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: false },
            },
            { EvalResourceName: INSTANCES, EvalResourceDecision: "implicitDeny" },
          ],
        },
      ],
    });
    const results = await simulate(new IAMClient({}), ROLE, requests);
    assert.deepEqual(
      results.map((result) => [result.decision, result.deniedBy]),
      [
        ["implicitDeny", "the role's permissions boundary"],
        ["implicitDeny", undefined],
      ],
    );
  });

  it("a role that may not simulate itself: SimulationUnavailableError, never a guess", async () => {
    iam.on(SimulatePrincipalPolicyCommand).rejects(
      Object.assign(new Error("not authorized to perform: iam:SimulatePrincipalPolicy"), {
        name: "AccessDenied",
      }),
    );
    await assert.rejects(simulate(new IAMClient({}), ROLE, requests), SimulationUnavailableError);
  });
});
