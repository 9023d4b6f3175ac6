import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decisionKey } from "../../../sandbox/iam/decision-key.ts";

const targetRole = (account: string) =>
  JSON.stringify([
    {
      name: "target",
      policy: {
        Statement: [
          {
            Effect: "Allow",
            Action: "ec2:CreateLaunchTemplateVersion",
            Resource: `arn:aws:ec2:*:${account}:launch-template/*`,
          },
        ],
      },
    },
  ]);
const request = (account: string) => ({
  action: "ec2:CreateLaunchTemplateVersion",
  resource: `arn:aws:ec2:eu-west-1:${account}:launch-template/lt-0abc`,
});
const keyPolicy = (owner: string, allowed: string) =>
  JSON.stringify({
    Statement: [
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${owner}:root` }, Action: "kms:*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${allowed}:root` }, Action: "kms:*" },
    ],
  });

describe("the key of a sandbox IAM decision", () => {
  it("is the same for two targets that differ only by their account id", () => {
    const keyOf = (account: string) =>
      decisionKey(
        [`arn:aws:sts::${account}:assumed-role/ami-orchestrator-target/s`, request(account)],
        [targetRole(account), "null"],
      );
    assert.equal(keyOf("111111111111"), keyOf("222222222222"));
  });

  it("differs when the accounts stand in another relation (a key policy naming one of them)", () => {
    const caller = (account: string) =>
      decisionKey(
        [`arn:aws:iam::${account}:role/r`, { action: "kms:CreateGrant", resource: "k" }],
        ["[]", keyPolicy("999999999999", "111111111111")],
      );
    // The allowed account and a stranger: the renaming cannot make them look alike.
    assert.notEqual(caller("111111111111"), caller("222222222222"));
  });

  it("keeps the raw ids when a policy could tell them apart otherwise", () => {
    const prefixed = JSON.stringify({
      Statement: [{ Resource: "arn:aws:ec2:*:1111*:instance/*" }],
    });
    const numeric = JSON.stringify({ Statement: [{ Condition: { NumericLessThan: { x: 1 } } }] });
    const qualified = JSON.stringify({
      Statement: [{ Condition: { "ForAnyValue:NumericLessThan": { x: 1 } } }],
    });
    // Substituted before matching: `b-111122223333*` may then meet a longer number.
    const variable = JSON.stringify({
      Statement: [{ Resource: "arn:aws:s3:::b-${aws:PrincipalAccount}*" }],
    });
    for (const policy of [prefixed, numeric, qualified, variable])
      assert.notEqual(
        decisionKey([request("111111111111")], [policy]),
        decisionKey([request("222222222222")], [policy]),
      );
  });

  it("a renamed id never meets a value spelled like its placeholder", () => {
    assert.notEqual(
      decisionKey([{ resource: "111111111111", other: "#0" }], ["[]"]),
      decisionKey([{ resource: "111111111111", other: "111111111111" }], ["[]"]),
    );
  });

  it("renames only whole 12-digit numbers", () => {
    assert.notEqual(
      decisionKey([{ resource: "snap-1234567890123" }], ["[]"]),
      decisionKey([{ resource: "snap-9234567890123" }], ["[]"]),
    );
  });
});
