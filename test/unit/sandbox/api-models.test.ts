import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  API_MODELS,
  validateRequest,
  validateResponse,
  violationsOf,
} from "../../../sandbox/api-models/validate.ts";
import type { CallContext } from "../../../sandbox/model/faults.ts";
import { SandboxWorld } from "../../../sandbox/model/world.ts";

const PIPELINE = "arn:aws:imagebuilder:eu-west-1:111111111111:image-pipeline/base";
const KEY = "arn:aws:kms:eu-west-1:999999999999:key/1f2e3d4c-0000-4a5b-8c9d-111122223333";

/** The error validateRequest throws, or undefined when the request fits the model. */
const refusal = (service: string, operation: string, input: object) => {
  try {
    validateRequest({ service, operation, input: input as Record<string, unknown> });
    return undefined;
  } catch (error) {
    return error as Error;
  }
};

describe("requests are validated against the AWS API models (botocore service-2.json)", () => {
  it("records where the models come from: the botocore version and each service's API version", () => {
    assert.match(API_MODELS.source, /^botocore \d+\.\d+\.\d+/);
    assert.equal(API_MODELS.services.imagebuilder?.apiVersion, "2019-12-02");
    assert.equal(API_MODELS.services.autoscaling?.apiVersion, "2011-01-01");
    assert.equal(API_MODELS.services.ec2?.apiVersion, "2016-11-15");
  });

  it("has a model of every operation the sandbox implements", () => {
    const registered: string[] = [];
    class Recording extends SandboxWorld {
      override register(service: string, operations: Record<string, never>): void {
        for (const operation of Object.keys(operations)) registered.push(`${service}:${operation}`);
        super.register(service, operations);
      }
    }
    new Recording({
      start: "2025-06-02T10:00:00Z",
      orchestratorAccountId: "111111111111",
      orchestratorRegion: "eu-west-1",
    });
    const missing = registered.filter((key) => {
      const [service = "", operation = ""] = key.split(":");
      return !API_MODELS.services[service]?.operations[operation];
    });
    assert.deepEqual(missing, [], "run npx tsx scripts/generate-api-models.ts");
  });

  it("refuses a missing required member, naming it (IAM: ValidationError)", () => {
    const error = refusal("iam", "GetRole", {});
    assert.equal(error?.name, "ValidationError");
    assert.match(
      error?.message ?? "",
      /1 validation error detected: Value null at 'RoleName' failed to satisfy constraint: Member must not be null/,
    );
  });

  it("matches a pattern against the whole value, as AWS does", () => {
    assert.equal(refusal("iam", "GetRole", { RoleName: "ami-orchestrator-target" }), undefined);
    const error = refusal("iam", "GetRole", { RoleName: "my role" });
    assert.equal(error?.name, "ValidationError");
    assert.match(error?.message ?? "", /Value 'my role' at 'RoleName'.*regular expression pattern/);
  });

  it("refuses a string over its maximum length", () => {
    const error = refusal("iam", "GetRole", { RoleName: "r".repeat(65) });
    assert.match(error?.message ?? "", /Member must have length less than or equal to 64/);
  });

  it("refuses a value outside its enum, with the path into the list (KMS: ValidationException)", () => {
    const grant = { KeyId: KEY, GranteePrincipal: "arn:aws:iam::111111111111:role/r" };
    assert.equal(refusal("kms", "CreateGrant", { ...grant, Operations: ["Decrypt"] }), undefined);
    const error = refusal("kms", "CreateGrant", { ...grant, Operations: ["Decrypt", "Launch"] });
    assert.equal(error?.name, "ValidationException");
    assert.match(
      error?.message ?? "",
      /Value 'Launch' at 'Operations\.2\.member' failed to satisfy constraint: Member must satisfy enum value set/,
    );
  });

  it("refuses a number outside its range", () => {
    const list = { imagePipelineArn: PIPELINE };
    assert.equal(
      refusal("imagebuilder", "ListImagePipelineImages", { ...list, maxResults: 25 }),
      undefined,
    );
    const error = refusal("imagebuilder", "ListImagePipelineImages", { ...list, maxResults: 26 });
    assert.equal(error?.name, "ValidationException");
    assert.match(error?.message ?? "", /'maxResults' .*less than or equal to 25/);
  });

  it("refuses a member the model does not have", () => {
    const error = refusal("autoscaling", "StartInstanceRefresh", {
      AutoScalingGroupName: "web",
      Preferences: { MinHealthyPercentage: 90, AutoRollBack: true },
    });
    assert.equal(error?.name, "ValidationError");
    assert.match(error?.message ?? "", /'Preferences\.AutoRollBack'.*not in the API model/);
  });

  it("answers EC2 requests as EC2 does: MissingParameter, InvalidParameterValue", () => {
    const missing = refusal("ec2", "CreateLaunchTemplateVersion", { LaunchTemplateId: "lt-1" });
    assert.equal(missing?.name, "MissingParameter");
    assert.match(missing?.message ?? "", /LaunchTemplateData/);
    const invalid = refusal("ec2", "CreateLaunchTemplateVersion", {
      LaunchTemplateId: "lt-1",
      LaunchTemplateData: { ImageId: "ami-1" },
      VersionDescription: "d".repeat(256),
    });
    assert.equal(invalid?.name, "InvalidParameterValue");
    assert.match(invalid?.message ?? "", /VersionDescription/);
  });

  it("lets the SDK fill idempotency tokens: a required clientToken may be absent from the input", () => {
    assert.equal(
      refusal("imagebuilder", "StartImagePipelineExecution", { imagePipelineArn: PIPELINE }),
      undefined,
    );
  });

  it("takes Date objects for timestamps and refuses strings, as the SDK's types do", () => {
    const model = API_MODELS.services.autoscaling;
    assert.ok(model);
    const group = {
      AutoScalingGroupName: "web",
      MinSize: 0,
      MaxSize: 2,
      DesiredCapacity: 1,
      DefaultCooldown: 300,
      AvailabilityZones: ["eu-west-1a"],
      HealthCheckType: "EC2",
    };
    assert.deepEqual(
      violationsOf(model, "AutoScalingGroup", { ...group, CreatedTime: new Date() }, "output"),
      [],
    );
    assert.match(
      violationsOf(model, "AutoScalingGroup", { ...group, CreatedTime: "2025-06-02" }, "output")[0]
        ?.constraint ?? "",
      /timestamp/,
    );
  });

  it("refuses what the sandbox would answer outside the model as a sandbox bug", () => {
    const call = { service: "imagebuilder", operation: "ListWorkflowExecutions" };
    const execution = { type: "BUILD", status: "COMPLETED" };
    validateResponse(call, {
      workflowExecutions: [
        { ...execution, workflowExecutionId: "wf-1f2e3d4c-0000-4a5b-8c9d-111122223333" },
      ],
    });
    assert.throws(
      () =>
        validateResponse(call, {
          workflowExecutions: [{ ...execution, workflowExecutionId: "wf-886ced0ab891-build" }],
        }),
      (error: Error) =>
        error.name === "SandboxResponseInvalid" &&
        /workflowExecutions\.1\.member\.workflowExecutionId = wf-886ced0ab891-build/.test(
          error.message,
        ),
    );
  });

  it("is applied to every call the sandbox world handles", async () => {
    const world = new SandboxWorld({
      start: "2025-06-02T10:00:00Z",
      orchestratorAccountId: "111111111111",
      orchestratorRegion: "eu-west-1",
    });
    const call: CallContext = {
      service: "iam",
      operation: "GetRole",
      accountId: "111111111111",
      region: "eu-west-1",
      input: { RoleName: "my role" },
    };
    await assert.rejects(world.call(call), { name: "ValidationError" });
    assert.equal(world.calls.at(-1)?.error, "ValidationError");
  });
});
