import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { describe, it } from "node:test";
import { loadConfig } from "../../lib/config/load.ts";
import {
  functionRoles,
  packagedFunctionRoles,
  type ServerlessStack,
} from "../../sandbox/iam/policies.ts";
import { sandboxAccessKeyId } from "../../sandbox/identity.ts";
import type { CallContext } from "../../sandbox/model/faults.ts";
import { KmsModel } from "../../sandbox/model/kms.ts";
import type { SandboxWorld } from "../../sandbox/model/world.ts";
import { worldFromConfig } from "../../sandbox/world-from-config.ts";
import { BUILD_ACCOUNT, repoPath, testConfig } from "../helpers/fixtures.ts";

/**
 * The sandbox's IAM, call by call: who may assume the target role, what the key policy lets a
 * target account do, what Auto Scaling checks on the caller's behalf, and when credentials stop
 * working. The policies are the deployed ones (serverless.yml, templates/target-account-role.yml).
 */

const DEV = "111111111111";
const DEV_ROLE = `arn:aws:iam::${DEV}:role/ami-orchestrator-target`;
const REGION = "eu-west-1";

const world = (): ReturnType<typeof worldFromConfig> =>
  worldFromConfig(
    testConfig(`    rollout:
      waves: [{ name: all, accounts: [dev] }]
      autoScalingGroups: { tags: { team: base } }
`),
    { start: "2026-11-23T01:00:00Z" },
  );

const asFunction = (functionName: string, call: Omit<CallContext, "accountId" | "region">) => ({
  accountId: BUILD_ACCOUNT,
  region: REGION,
  accessKeyId: sandboxAccessKeyId(BUILD_ACCOUNT),
  functionName,
  ...call,
});

const assume = async (sandbox: SandboxWorld, externalId = "ext-dev-01") =>
  (await sandbox.call(
    asFunction("roll-out-target", {
      service: "sts",
      operation: "AssumeRole",
      input: {
        RoleArn: DEV_ROLE,
        RoleSessionName: "ami-orchestrator-test",
        ExternalId: externalId,
      },
    }),
  )) as { Credentials: { AccessKeyId: string; Expiration: Date } };

const asTarget = (accessKeyId: string, call: Omit<CallContext, "accountId" | "region">) => ({
  accountId: DEV,
  region: REGION,
  accessKeyId,
  ...call,
});

const rejectsWith = (promise: Promise<unknown>, name: string) =>
  assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, name, error.message);
    return true;
  });

const grant = (keyArn: string) => ({
  service: "kms",
  operation: "CreateGrant",
  input: {
    KeyId: keyArn,
    GranteePrincipal: `arn:aws:iam::${DEV}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    Operations: ["Decrypt", "DescribeKey"],
    Name: "test-grant",
  },
});

describe("sandbox IAM", () => {
  it("AssumeRole follows the template's trust policy: the configured ExternalId, the orchestrator's roles", async () => {
    const sandbox = await world();
    await rejectsWith(assume(sandbox, "someone-elses-id"), "AccessDenied");
    const { Credentials } = await assume(sandbox);
    assert.match(Credentials.AccessKeyId, /^ASIA111111111111/);
    // The alerts function's role has no sts:AssumeRole.
    await rejectsWith(
      sandbox.call(
        asFunction("alerts", {
          service: "sts",
          operation: "AssumeRole",
          input: { RoleArn: DEV_ROLE, RoleSessionName: "x1", ExternalId: "ext-dev-01" },
        }),
      ),
      "AccessDenied",
    );
  });

  it("assumed credentials expire on the simulated clock, refused as each service spells it", async () => {
    const sandbox = await world();
    const { Credentials } = await assume(sandbox);
    const describe = asTarget(Credentials.AccessKeyId, {
      service: "autoscaling",
      operation: "DescribeAutoScalingGroups",
      input: {},
    });
    await sandbox.call(describe);
    sandbox.clock.advanceTo(Credentials.Expiration.toISOString());
    await rejectsWith(sandbox.call(describe), "ExpiredToken");
    await rejectsWith(
      sandbox.call(
        asTarget(Credentials.AccessKeyId, {
          service: "ec2",
          operation: "DescribeImages",
          input: { ImageIds: ["ami-0123456789abcdef0"] },
        }),
      ),
      "RequestExpired",
    );
    const keyArn = KmsModel.keyArn(BUILD_ACCOUNT, REGION, "ami-encryption");
    sandbox.kms.addKey({
      arn: keyArn,
      accountId: BUILD_ACCOUNT,
      region: REGION,
      manager: "CUSTOMER",
      allowedAccounts: [DEV],
    });
    await rejectsWith(
      sandbox.call(asTarget(Credentials.AccessKeyId, grant(keyArn))),
      "ExpiredTokenException",
    );
  });

  it("a cross-account grant needs the README's statement in the key policy", async () => {
    const sandbox = await world();
    const { Credentials } = await assume(sandbox);
    const keyArn = KmsModel.keyArn(BUILD_ACCOUNT, REGION, "ami-encryption");
    const key = sandbox.kms.addKey({
      arn: keyArn,
      accountId: BUILD_ACCOUNT,
      region: REGION,
      manager: "CUSTOMER",
    });
    await rejectsWith(
      sandbox.call(asTarget(Credentials.AccessKeyId, grant(keyArn))),
      "AccessDeniedException",
    );
    assert.match(
      sandbox.authorizer.refusals.at(-1)?.action ?? "",
      /^kms:CreateGrant$/,
      "refused by IAM, with the key policy",
    );
    key.allowedAccounts.add(DEV);
    await sandbox.call(asTarget(Credentials.AccessKeyId, grant(keyArn)));
    // The target role's own condition still holds: grants for the Auto Scaling role only.
    await rejectsWith(
      sandbox.call(
        asTarget(Credentials.AccessKeyId, {
          ...grant(keyArn),
          input: { ...grant(keyArn).input, GranteePrincipal: `arn:aws:iam::${DEV}:role/other` },
        }),
      ),
      "AccessDeniedException",
    );
  });

  it("StartInstanceRefresh checks the caller's launch permissions for the template", async () => {
    const sandbox = await world();
    const { Credentials } = await assume(sandbox);
    const group = [...sandbox.autoScaling.groups.values()].find(
      (candidate) => candidate.accountId === DEV && candidate.launchTemplate,
    );
    assert.ok(group);
    const refresh = asTarget(Credentials.AccessKeyId, {
      service: "autoscaling",
      operation: "StartInstanceRefresh",
      input: { AutoScalingGroupName: group.name },
    });
    const restore = sandbox.authorizer.withoutPermission(DEV_ROLE, "ec2:RunInstances");
    await rejectsWith(sandbox.call(refresh), "AccessDenied");
    assert.deepEqual(
      {
        action: sandbox.authorizer.refusals.at(-1)?.action,
        for: sandbox.authorizer.refusals.at(-1)?.implicitFor,
      },
      { action: "ec2:RunInstances", for: "autoscaling:StartInstanceRefresh" },
    );
    restore();
    // Its tag specifications need ec2:CreateTags, its instance profile iam:PassRole.
    for (const action of ["ec2:CreateTags", "iam:PassRole"]) {
      const restoreAction = sandbox.authorizer.withoutPermission(DEV_ROLE, action);
      await rejectsWith(sandbox.call(refresh), "AccessDenied");
      assert.equal(sandbox.authorizer.refusals.at(-1)?.action, action);
      restoreAction();
    }
    await sandbox.call(refresh);
  });

  it("a condition key the sandbox cannot know is reported, not silently allowed", async () => {
    const sandbox = await world();
    const role = sandbox.authorizer.role(DEV_ROLE);
    assert.ok(role);
    // A statement conditioned on a key no sandbox request carries (the caller's source IP).
    sandbox.authorizer.setRole({
      ...role,
      policies: [
        {
          name: "probe",
          policy: {
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "FromTheOfficeOnly",
                Effect: "Allow",
                Action: "autoscaling:DescribeAutoScalingGroups",
                Resource: "*",
                Condition: { IpAddress: { "aws:SourceIp": "192.0.2.0/24" } },
              },
            ],
          },
        },
      ],
    });
    const { Credentials } = await assume(sandbox);
    await rejectsWith(
      sandbox.call(
        asTarget(Credentials.AccessKeyId, {
          service: "autoscaling",
          operation: "DescribeAutoScalingGroups",
          input: {},
        }),
      ),
      "AccessDenied",
    );
    assert.ok(
      [...sandbox.authorizer.notes].some((note) =>
        note.includes("aws:SourceIp (FromTheOfficeOnly) is not known offline"),
      ),
      [...sandbox.authorizer.notes].join("\n"),
    );
  });

  it("only the orchestrator's senders may send to its queues, whatever another role's policy allows", async () => {
    const sandbox = await world();
    // A person's or a CI role in the orchestrator account, allowed sqs:SendMessage on every queue.
    const developer = `arn:aws:iam::${BUILD_ACCOUNT}:role/developer`;
    sandbox.sts.addRole({ accountId: BUILD_ACCOUNT, roleName: "developer" });
    sandbox.authorizer.setRole({
      roleArn: developer,
      trustPolicy: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: `arn:aws:iam::${BUILD_ACCOUNT}:root` },
            Action: "sts:AssumeRole",
          },
        ],
      },
      policies: [
        {
          name: "queues",
          policy: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" }],
          },
        },
      ],
    });
    const { Credentials } = (await sandbox.call({
      accountId: BUILD_ACCOUNT,
      region: REGION,
      service: "sts",
      operation: "AssumeRole",
      input: { RoleArn: developer, RoleSessionName: "someone" },
    })) as { Credentials: { AccessKeyId: string } };
    const other = sandbox.sqs.addQueue({ accountId: BUILD_ACCOUNT, region: REGION, name: "other" });
    const send = (queueUrl: string, batch = false) => ({
      accountId: BUILD_ACCOUNT,
      region: REGION,
      accessKeyId: Credentials.AccessKeyId,
      service: "sqs",
      ...(batch
        ? {
            operation: "SendMessageBatch",
            input: { QueueUrl: queueUrl, Entries: [{ Id: "1", MessageBody: "{}" }] },
          }
        : { operation: "SendMessage", input: { QueueUrl: queueUrl, MessageBody: "{}" } }),
    });
    // Its identity policy is enough for a queue without our policy...
    await sandbox.call(send(other.url));
    // ...not for ours: the queue policy's explicit deny wins.
    for (const queue of [sandbox.queues.rollout, sandbox.queues.alerts]) {
      await rejectsWith(sandbox.call(send(queue.url)), "AccessDenied");
      await assert.rejects(sandbox.call(send(queue.url, true)), (error: Error) => {
        assert.equal(error.name, "AccessDenied");
        assert.match(error.message, /sqs:SendMessage .* because an explicit deny applies/);
        return true;
      });
    }
    assert.equal(sandbox.queues.rollout.messages.length, 0);
    // The functions that send to them still do.
    await sandbox.call(
      asFunction("watch-rollouts", {
        service: "sqs",
        operation: "SendMessage",
        input: { QueueUrl: sandbox.queues.rollout.url, MessageBody: "{}" },
      }),
    );
    await sandbox.call(
      asFunction("start-pipelines", {
        service: "sqs",
        operation: "SendMessage",
        input: { QueueUrl: sandbox.queues.alerts.url, MessageBody: "{}" },
      }),
    );
    assert.equal(sandbox.queues.rollout.messages.length, 1);
  });

  it("the statements derived from serverless.yml are the packaged ones", (t) => {
    const packaged = repoPath(".serverless/cloudformation-template-update-stack.json");
    const sources = ["serverless.yml", "config/orchestrator.yml", "lib/deployment/index.ts"];
    if (
      !existsSync(packaged) ||
      sources.some((source) => statSync(repoPath(source)).mtimeMs > statSync(packaged).mtimeMs)
    ) {
      t.skip("no up-to-date `npm run package` output to compare with");
      return;
    }
    // The stage (and service) the package was built for, as osls recorded them beside it:
    // `npm run package -- --stage prod` compares prod's statements.
    const state = JSON.parse(
      readFileSync(repoPath(".serverless/serverless-state.json"), "utf8"),
    ) as { service: { service: string; provider: { stage: string } } };
    const { service, provider } = state.service;
    const stack: ServerlessStack = {
      accountId: BUILD_ACCOUNT,
      region: REGION,
      stackName: `${service}-${provider.stage}`,
      stage: provider.stage,
    };
    const config = loadConfig(repoPath("config/orchestrator.yml"));
    assert.deepEqual(
      Object.fromEntries(packagedFunctionRoles(packaged, stack)),
      Object.fromEntries(functionRoles(config, stack)),
    );
  });
});
