import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { STSClient } from "@aws-sdk/client-sts";
import { iamRegionFor } from "../../../lib/aws/iam-region.ts";
import { assumedRoleClients } from "../../../lib/aws/target-clients.ts";
import type { AccountConfig } from "../../../lib/config/schema.ts";
import { testConfig } from "../../helpers/fixtures.ts";

const account = (id: string, regions: string[]): AccountConfig => ({
  id,
  roleName: "ami-orchestrator-target",
  externalId: "ext-01",
  regions,
});

describe("IAM's region: the global endpoint of the account's partition", () => {
  it("is us-east-1 in aws, cn-north-1 in aws-cn, us-gov-west-1 in aws-us-gov, whatever the region", () => {
    assert.equal(iamRegionFor("eu-west-3"), "us-east-1");
    assert.equal(iamRegionFor("us-east-1"), "us-east-1");
    assert.equal(iamRegionFor("cn-northwest-1"), "cn-north-1");
    assert.equal(iamRegionFor("cn-north-1"), "cn-north-1");
    assert.equal(iamRegionFor("us-gov-east-1"), "us-gov-west-1");
  });

  it("target accounts' IAM clients are built there, not in us-east-1 for every partition", async () => {
    const clients = assumedRoleClients(
      new STSClient({ region: "cn-north-1" }),
      testConfig(),
      "test",
    );
    const inChina = clients.iam(account("111111111111", ["cn-northwest-1"]));
    const inGovCloud = clients.iam(account("222222222222", ["us-gov-east-1", "us-gov-west-1"]));
    const commercial = clients.iam(account("333333333333", ["eu-west-1"]));
    assert.equal(await inChina.config.region(), "cn-north-1");
    assert.equal(await inGovCloud.config.region(), "us-gov-west-1");
    assert.equal(await commercial.config.region(), "us-east-1");
  });
});
