import { createHash } from "node:crypto";
import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** One output of a stack, as DescribeStacks returns it (API reference, Output). */
export interface SandboxStackOutput {
  readonly OutputKey: string;
  readonly OutputValue: string;
  readonly Description?: string;
  readonly ExportName?: string;
}

/** A deployed stack: what DescribeStacks says of it (API reference, Stack). */
export interface SandboxStack {
  readonly accountId: string;
  readonly region: string;
  readonly stackName: string;
  readonly stackId: string;
  readonly creationTime: Date;
  readonly status: string;
  readonly outputs: readonly SandboxStackOutput[];
}

/**
 * CloudFormation's stacks, as far as reading them goes: DescribeStacks, for the stacks the
 * sandbox deploys (the orchestrator's, from serverless.yml: sandbox/deployed-stack.ts), per
 * account and region. Source: CloudFormation API reference, DescribeStacks:
 * - StackName is "the name or the unique stack ID"; a running stack answers to either, a deleted
 *   one only to its ID (none is deleted here);
 * - without StackName, every stack of the account and region is described;
 * - "If the stack doesn't exist, a ValidationError is returned": "Stack with id <name> does not
 *   exist", HTTP 400 (the message as AWS answers it: realestate-com-au/stackup#27,
 *   convox/rack#2572). A stack in another region is not found: CloudFormation
 *   is regional.
 */
export class CloudFormationStacksModel {
  readonly stacks = new Map<string, SandboxStack>();

  constructor(private readonly now: () => number) {}

  static key(accountId: string, region: string, stackName: string): string {
    return `${accountId}|${region}|${stackName}`;
  }

  /**
   * The stack's ID: `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>` (API
   * reference, Stack StackId; the example in DescribeStacks), a stable uuid here.
   */
  static stackId(accountId: string, region: string, stackName: string): string {
    const hex = createHash("sha256").update(`${accountId}|${region}|${stackName}`).digest("hex");
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    return `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/${uuid}`;
  }

  /** A stack as a successful create leaves it (CREATE_COMPLETE). */
  deploy(stack: {
    accountId: string;
    region: string;
    stackName: string;
    outputs: readonly SandboxStackOutput[];
  }): SandboxStack {
    const deployed: SandboxStack = {
      ...stack,
      stackId: CloudFormationStacksModel.stackId(stack.accountId, stack.region, stack.stackName),
      creationTime: new Date(this.now()),
      status: "CREATE_COMPLETE",
    };
    this.stacks.set(
      CloudFormationStacksModel.key(stack.accountId, stack.region, stack.stackName),
      deployed,
    );
    return deployed;
  }

  /** The stack deleted (DeleteStack): its name no longer answers. */
  delete(accountId: string, region: string, stackName: string): void {
    this.stacks.delete(CloudFormationStacksModel.key(accountId, region, stackName));
  }

  readonly operations = {
    DescribeStacks: (call: CallContext) => {
      const name = call.input.StackName as string | undefined;
      const here = [...this.stacks.values()].filter(
        (stack) => stack.accountId === call.accountId && stack.region === call.region,
      );
      const found =
        name === undefined
          ? here
          : here.filter((stack) => stack.stackName === name || stack.stackId === name);
      if (name !== undefined && found.length === 0)
        throw awsError("ValidationError", `Stack with id ${name} does not exist`, 400);
      return {
        Stacks: found.map((stack) => ({
          StackId: stack.stackId,
          StackName: stack.stackName,
          CreationTime: stack.creationTime,
          StackStatus: stack.status,
          Outputs: stack.outputs.map((output) => ({ ...output })),
        })),
      };
    },
  };
}
