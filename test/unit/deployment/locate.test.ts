import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { afterEach, describe, it } from "node:test";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { parseCloudFormationYaml } from "../../../lib/deployment/cloudformation.ts";
import {
  DeploymentNotFoundError,
  deploymentDefaults,
  deploymentLine,
  locateDeployment,
  resolveSite,
  STACK_OUTPUTS,
  stackOutput,
} from "../../../lib/deployment/locate.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const serverlessYml = () =>
  parseCloudFormationYaml(readFileSync(repoPath("serverless.yml"), "utf8")) as Record<
    string,
    unknown
  >;

describe("where the operator commands look: serverless.yml's defaults", () => {
  it("stage dev and region eu-west-1, read from provider.stage and provider.region", () => {
    assert.deepEqual(deploymentDefaults(serverlessYml()), {
      service: "ami-orchestrator",
      stage: "dev",
      region: "eu-west-1",
    });
  });

  it("a plain value is the default; without the key, osls's own (dev, us-east-1)", () => {
    assert.deepEqual(
      deploymentDefaults({ service: "s", provider: { stage: "prod", region: "eu-west-3" } }),
      { service: "s", stage: "prod", region: "eu-west-3" },
    );
    assert.deepEqual(deploymentDefaults({ service: "s", provider: {} }), {
      service: "s",
      stage: "dev",
      region: "us-east-1",
    });
  });

  it("a default it cannot read is an error naming the key, not a guess", () => {
    assert.throws(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a serverless.yml variable, verbatim
      () => deploymentDefaults({ service: "s", provider: { region: "${env:REGION}" } }),
      /serverless\.yml provider\.region: cannot read a default from \$\{env:REGION\}/,
    );
  });

  it("--stage and --region win over the defaults; a typo in the region is refused with the near ones", () => {
    const defaults = { service: "ami-orchestrator", stage: "dev", region: "eu-west-1" };
    assert.deepEqual(resolveSite({}, defaults), defaults);
    assert.deepEqual(resolveSite({ stage: "prod", region: "cn-north-1" }, defaults), {
      ...defaults,
      stage: "prod",
      region: "cn-north-1",
    });
    assert.throws(() => resolveSite({ region: "eu-west3" }, defaults), /did you mean eu-west-3/);
    assert.throws(
      () => resolveSite({ stage: "my_stage" }, defaults),
      /letters, digits and hyphens/,
    );
  });

  it("every output the commands read is one serverless.yml declares", () => {
    const declared = Object.assign(
      {},
      ...(serverlessYml().resources as Array<{ Outputs?: object }>).map(
        (part) => part.Outputs ?? {},
      ),
    );
    for (const key of Object.values(STACK_OUTPUTS)) assert.ok(key in declared, key);
  });
});

describe("DescribeStacks on <service>-<stage>", () => {
  const cloudformation = mockClient(CloudFormationClient);
  afterEach(() => cloudformation.reset());
  const site = { service: "ami-orchestrator", stage: "prod", region: "eu-west-3" };

  it("reads the account from the stack's ID and the outputs by key", async () => {
    cloudformation.on(DescribeStacksCommand, { StackName: "ami-orchestrator-prod" }).resolves({
      Stacks: [
        {
          StackId:
            "arn:aws-cn:cloudformation:eu-west-3:123456789012:stack/ami-orchestrator-prod/0ddb4d96-eada-0d5e-ac07-7138ae48e82e",
          StackName: "ami-orchestrator-prod",
          CreationTime: new Date(),
          StackStatus: "UPDATE_COMPLETE",
          Outputs: [
            { OutputKey: "StateTableName", OutputValue: "ami-orchestrator-prod-StateTable-X" },
          ],
        },
      ],
    });
    const deployment = await locateDeployment(
      new CloudFormationClient({ region: "eu-west-3" }),
      site,
    );
    assert.equal(deployment.accountId, "123456789012");
    assert.equal(deployment.partition, "aws-cn");
    assert.equal(stackOutput(deployment, "tableName"), "ami-orchestrator-prod-StateTable-X");
    assert.equal(
      deploymentLine(deployment),
      "ami-orchestrator: stage prod, region eu-west-3, account 123456789012, stack ami-orchestrator-prod",
    );
  });

  it("AWS's ValidationError for a stack that does not exist is DeploymentNotFoundError; other errors pass", async () => {
    const client = new CloudFormationClient({ region: "eu-west-3" });
    cloudformation.on(DescribeStacksCommand).rejects(
      Object.assign(new Error("Stack with id ami-orchestrator-prod does not exist"), {
        name: "ValidationError",
      }),
    );
    await assert.rejects(locateDeployment(client, site), (error: Error) => {
      assert.ok(error instanceof DeploymentNotFoundError);
      assert.equal(
        error.message,
        "no stack ami-orchestrator-prod in eu-west-3: deploy it first, or pass --stage/--region",
      );
      return true;
    });
    cloudformation.reset();
    cloudformation.on(DescribeStacksCommand).rejects(
      Object.assign(new Error("User: arn:aws:iam::1:user/x is not authorized"), {
        name: "AccessDenied",
      }),
    );
    await assert.rejects(locateDeployment(client, site), { name: "AccessDenied" });
  });
});
