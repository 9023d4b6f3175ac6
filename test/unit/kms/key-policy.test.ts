import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GrantRefusedError } from "../../../lib/kms/grants.ts";
import {
  TARGET_ACCOUNT_KEY_ACTIONS,
  targetAccountKeyStatement,
  targetAccountsKeyStatement,
} from "../../../lib/kms/key-policy.ts";
import { keyPolicy } from "../../../sandbox/iam/policies.ts";

describe("the key-policy statement a key owner adds for the target accounts", () => {
  it("lets each target account's root describe the key, create grants and list them, and nothing else", () => {
    const statement = targetAccountsKeyStatement(["111111111111", "222222222222"]);

    assert.deepEqual(statement, {
      Sid: "AllowAmiOrchestratorGrants",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"] },
      Action: ["kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"],
      Resource: "*",
    });
    assert.deepEqual(statement.Action, [...TARGET_ACCOUNT_KEY_ACTIONS]);
  });

  it("has no condition: kms:GrantIsForAWSResource only matches calls AWS services make", () => {
    assert.equal("Condition" in targetAccountsKeyStatement(["111111111111"]), false);
  });

  it("names one account with a Sid of its own, so it can be added beside another account's", () => {
    assert.deepEqual(JSON.parse(targetAccountKeyStatement("222222222222")), {
      Sid: "AllowAmiOrchestratorGrants222222222222",
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::222222222222:root" },
      Action: ["kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"],
      Resource: "*",
    });
  });

  it("names the accounts in the key's partition", () => {
    const statement = targetAccountsKeyStatement(["111111111111"], "aws-us-gov");
    assert.deepEqual(statement.Principal, { AWS: "arn:aws-us-gov:iam::111111111111:root" });
  });

  it("is the statement a refused grant's error tells the key owner to add", () => {
    const error = new GrantRefusedError(
      "arn:aws-cn:kms:cn-north-1:999999999999:key/abc",
      "111111111111",
      new Error("AccessDeniedException"),
      "kms:CreateGrant",
    );
    assert.ok(
      error.message.includes(targetAccountKeyStatement("111111111111", "aws-cn")),
      error.message,
    );
  });

  it("is the statement the sandbox's key owners added (the sandbox checks KMS calls against it)", () => {
    const policy = keyPolicy("999999999999", ["111111111111", "222222222222"]);
    assert.deepEqual(
      policy.Statement[1],
      targetAccountsKeyStatement(["111111111111", "222222222222"]),
    );
  });
});
