import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { parseCloudFormationYaml } from "../../../lib/deployment/cloudformation.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const ACCOUNT = "999999999999";
const REGION = "eu-west-1";
const NO_VALUE = Symbol("AWS::NoValue");

const template = parseCloudFormationYaml(readFileSync(repoPath("templates/ci-role.yml"), "utf8"));

/** The role's documents as CloudFormation would resolve them for these parameters. */
const resolved = (parameters: Record<string, string>) => {
  const values: Record<string, string> = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    ...Object.fromEntries(
      Object.entries(template.Parameters as Record<string, { Default?: string }>).map(
        ([name, parameter]) => [name, parameter.Default ?? ""],
      ),
    ),
    ...parameters,
  };
  const conditions: Record<string, boolean> = {
    GitHub: values.GitHubOidcProviderArn !== "",
    GitLab: values.GitLabOidcProviderArn !== "",
    HasBucket: values.ComponentBucket !== "",
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve).filter((item) => item !== NO_VALUE);
    if (node === null || typeof node !== "object") return node;
    const object = node as Record<string, unknown>;
    if ("Ref" in object)
      return object.Ref === "AWS::NoValue" ? NO_VALUE : values[String(object.Ref)];
    if ("Fn::Sub" in object)
      return String(object["Fn::Sub"]).replace(
        /\$\{([^}]+)\}/g,
        (_, name: string) => values[name] ?? "",
      );
    if ("Fn::If" in object) {
      const [condition, yes, no] = object["Fn::If"] as [string, unknown, unknown];
      return resolve(conditions[condition] ? yes : no);
    }
    return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, resolve(value)]));
  };
  const role = resolve(template.Resources.CiRole.Properties) as {
    AssumeRolePolicyDocument: unknown;
    Policies: Array<{ PolicyName: string; PolicyDocument: unknown }>;
  };
  return role;
};

const PARAMETERS = {
  Stage: "prod",
  GitHubOidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
  GitHubRepository: "acme/images",
  BuildInstanceRoleArn: `arn:aws:iam::${ACCOUNT}:role/image-builder-instance`,
  ComponentBucket: "acme-components",
};

const allowed = async (action: string, resource: string, parameters = PARAMETERS) => {
  const role = resolved(parameters);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/ami-orchestrator-images-ci/ci`,
        action,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: {},
      },
      identityPolicies: role.Policies.map((policy) => ({
        name: policy.PolicyName,
        policy: policy.PolicyDocument as never,
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === "error") return assert.fail(JSON.stringify(result.errors));
  return result.overallResult === "Allowed";
};

const STACK = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/ami-orchestrator-prod-images/1a2b`;
const PIPELINE = `arn:aws:imagebuilder:${REGION}:${ACCOUNT}:image-pipeline/base-al2023`;

describe("CI role template", () => {
  it("allows every call plan, deploy and build --changed make, on the image stack's resources", async () => {
    for (const [action, resource] of [
      ["cloudformation:CreateChangeSet", STACK],
      ["cloudformation:DescribeChangeSet", STACK],
      ["cloudformation:DeleteChangeSet", STACK],
      ["cloudformation:ExecuteChangeSet", STACK],
      ["cloudformation:DescribeStacks", STACK],
      ["cloudformation:DescribeStackEvents", STACK],
      [
        "imagebuilder:CreateComponent",
        `arn:aws:imagebuilder:${REGION}:${ACCOUNT}:component/base-al2023-harden-ssh/1.1.0/1`,
      ],
      [
        "imagebuilder:CreateImageRecipe",
        `arn:aws:imagebuilder:${REGION}:${ACCOUNT}:image-recipe/base-al2023/1.0.x`,
      ],
      ["imagebuilder:UpdateImagePipeline", PIPELINE],
      ["imagebuilder:GetImagePipeline", PIPELINE],
      ["imagebuilder:ListImagePipelineImages", PIPELINE],
      ["imagebuilder:StartImagePipelineExecution", PIPELINE],
      [
        "imagebuilder:TagResource",
        `arn:aws:imagebuilder:${REGION}:${ACCOUNT}:image/base-al2023/1.0.3/1`,
      ],
      ["iam:PassRole", PARAMETERS.BuildInstanceRoleArn],
      ["s3:PutObject", "arn:aws:s3:::acme-components/ami-orchestrator/components/abc.yml"],
    ]) {
      assert.equal(
        await allowed(action as string, resource as string),
        true,
        `${action} on ${resource}`,
      );
    }
  });

  it("cannot delete the stack, retained components or recipes, or touch another stack", async () => {
    for (const [action, resource] of [
      ["cloudformation:DeleteStack", STACK],
      [
        "cloudformation:CreateChangeSet",
        `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/ami-orchestrator-prod/1a2b`,
      ],
      [
        "imagebuilder:DeleteComponent",
        `arn:aws:imagebuilder:${REGION}:${ACCOUNT}:component/base-al2023-harden-ssh/1.1.0/1`,
      ],
      [
        "imagebuilder:DeleteImageRecipe",
        `arn:aws:imagebuilder:${REGION}:${ACCOUNT}:image-recipe/base-al2023/1.0.1`,
      ],
      ["imagebuilder:StartImagePipelineExecution", PIPELINE.replace(REGION, "us-east-1")],
      ["iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/Admin`],
      ["s3:PutObject", "arn:aws:s3:::other-bucket/key"],
    ]) {
      assert.equal(
        await allowed(action as string, resource as string),
        false,
        `${action} on ${resource}`,
      );
    }
  });

  it("has no S3 access without a component bucket", async () => {
    const { ComponentBucket: _, ...noBucket } = PARAMETERS;
    assert.equal(
      await allowed(
        "s3:PutObject",
        "arn:aws:s3:::acme-components/x",
        noBucket as typeof PARAMETERS,
      ),
      false,
    );
  });

  it("trusts only the named repository's branch through each OIDC provider, and only the configured ones", () => {
    const both = resolved({
      ...PARAMETERS,
      GitLabOidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/gitlab.com`,
      GitLabProjectPath: "acme/platform/images",
    }).AssumeRolePolicyDocument as { Statement: Array<{ Sid: string; Condition: unknown }> };
    assert.deepEqual(
      both.Statement.map((statement) => [statement.Sid, statement.Condition]),
      [
        [
          "GitHubActions",
          {
            StringEquals: {
              "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
              "token.actions.githubusercontent.com:sub": "repo:acme/images:ref:refs/heads/main",
            },
          },
        ],
        [
          "GitLabCi",
          {
            StringEquals: {
              "gitlab.com:aud": "https://gitlab.com",
              "gitlab.com:sub": "project_path:acme/platform/images:ref_type:branch:ref:main",
            },
          },
        ],
      ],
    );
    const githubOnly = resolved(PARAMETERS).AssumeRolePolicyDocument as { Statement: unknown[] };
    assert.equal(githubOnly.Statement.length, 1);
  });
});
