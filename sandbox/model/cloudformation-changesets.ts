import { createHash } from "node:crypto";
import { describeChange, planChanges } from "../cloudformation/changes.ts";
import { deleteStack, executeChangeSet } from "../cloudformation/deploy.ts";
import {
  describeStack,
  stackOperationEvents,
  validationEvents,
} from "../cloudformation/describe.ts";
import { earlyValidationReason, nameConflicts } from "../cloudformation/early-validation.ts";
import type { ImageBuilderCall } from "../cloudformation/provisioners.ts";
import type { ChangeSet, Stack } from "../cloudformation/stack.ts";
import { checkTemplate, parameterValues, parseTemplate } from "../cloudformation/template.ts";
import { sandboxAccessKeyId } from "../identity.ts";
import { awsError, SandboxAwsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";
import type { AssumedSession } from "./sts.ts";

/**
 * CloudFormation for the image stacks: change sets (create, describe, execute, delete), the
 * stacks they create and update, and their events. The deploy itself (sandbox/cloudformation/)
 * calls the modelled Image Builder API as the principal that executes the change set ("If you
 * don't specify a value [for RoleARN], CloudFormation uses ... a temporary session that's
 * generated from your user credentials", API reference, CreateChangeSet RoleARN), so every
 * resource operation is IAM-checked and validated against the API model.
 *
 * Sources: API reference (botocore cloudformation 2010-05-15) for shapes and errors; awscli's
 * `cloudformation deploy` (awscli/customizations/cloudformation/deployer.py) for what callers rely
 * on: "Stack with id <name> does not exist" from DescribeStacks, a change set on a new stack
 * leaving it REVIEW_IN_PROGRESS, and a change set without changes FAILED with "The submitted
 * information didn't contain changes."; user guide "Execute a change set": "After you execute a
 * change set, CloudFormation deletes any additional change sets that are associated with the
 * stack"; pre-deployment validation (user guide, "Validate stack deployments"; the status reason
 * as aws/aws-cdk-cli #1000 quotes it, details through DescribeEvents).
 */

type Operation = (call: CallContext) => unknown;

/** What the model needs of the world (sandbox/model/world.ts), without importing it. */
export interface CloudFormationHost {
  readonly clock: { now(): number };
  call(call: CallContext): Promise<unknown>;
  readonly sts: { readonly sessions: Map<string, AssumedSession> };
}

const NO_CHANGES =
  "The submitted information didn't contain changes. Submit different information to create a change set.";

const uuid = (text: string) =>
  createHash("sha256")
    .update(text)
    .digest("hex")
    .slice(0, 32)
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");

const validation = (message: string) => awsError("ValidationError", message);

export class CloudFormationChangeSets {
  /** Stacks by stack id (ARN), deleted ones included (DescribeStacks finds those by id only). */
  readonly stacks = new Map<string, Stack>();
  /** DescribeChangeSet pages `Changes` past 1 MB ("If the output exceeds 1 MB", API reference). */
  changesPageBytes = 1_000_000;

  constructor(private readonly host: CloudFormationHost) {}

  /** The stack id a stack of this name gets (or has): arn:aws:cloudformation:…:stack/<name>/<uuid>. */
  stackArn(accountId: string, region: string, name: string): string {
    const live = this.#live(accountId, region, name);
    if (live) return live.id;
    return `arn:aws:cloudformation:${region}:${accountId}:stack/${name}/${uuid(`${accountId}|${region}|${name}|${this.stacks.size}`)}`;
  }

  #live(accountId: string, region: string, name: string): Stack | undefined {
    return [...this.stacks.values()].find(
      (stack) =>
        stack.accountId === accountId &&
        stack.region === region &&
        stack.name === name &&
        stack.status !== "DELETE_COMPLETE",
    );
  }

  /** The stack a StackName (name or id) names in the caller's account and region. */
  stack(call: Pick<CallContext, "accountId" | "region">, nameOrId: string): Stack | undefined {
    const byId = this.stacks.get(nameOrId);
    if (byId)
      return byId.accountId === call.accountId && byId.region === call.region ? byId : undefined;
    return this.#live(call.accountId, call.region, nameOrId);
  }

  #changeSet(call: CallContext): { stack: Stack; changeSet: ChangeSet } {
    const name = String(call.input.ChangeSetName);
    const notFound = () =>
      new SandboxAwsError({
        name: "ChangeSetNotFoundException",
        message: `ChangeSet [${name}] does not exist`,
        httpStatusCode: 404,
      });
    if (name.startsWith("arn:")) {
      for (const stack of this.stacks.values())
        for (const changeSet of stack.changeSets.values())
          if (changeSet.id === name && stack.accountId === call.accountId)
            return { stack, changeSet };
      throw notFound();
    }
    if (call.input.StackName === undefined)
      throw validation("StackName must be specified if ChangeSetName is not specified as an ARN.");
    const stack = this.stack(call, String(call.input.StackName));
    const changeSet = [...(stack?.changeSets.values() ?? [])].find((item) => item.name === name);
    if (!stack || !changeSet) throw notFound();
    return { stack, changeSet };
  }

  /** The Image Builder caller a deploy uses: the stack's role if any, else the executing caller. */
  #caller(call: CallContext, stack: Stack, roleArn: string | undefined) {
    const identity = { accountId: call.accountId, region: call.region };
    if (!roleArn) {
      return {
        ...identity,
        ...(call.accessKeyId ? { accessKeyId: call.accessKeyId } : {}),
        ...(call.functionName ? { functionName: call.functionName } : {}),
      };
    }
    const accessKeyId = sandboxAccessKeyId(
      call.accountId,
      `CFN${this.host.sts.sessions.size.toString(36)}`,
    );
    this.host.sts.sessions.set(accessKeyId, {
      accessKeyId,
      accountId: call.accountId,
      roleArn,
      sessionName: `AWSCloudFormation-${stack.name}`.slice(0, 64),
      expiration: this.host.clock.now() + 3_600_000,
    });
    return { ...identity, accessKeyId };
  }

  /** Image Builder calls made as `caller`, through the world: IAM-checked and validated. */
  #imageBuilder(caller: Omit<CallContext, "service" | "operation" | "input">): ImageBuilderCall {
    return async (operation, input) =>
      (await this.host.call({ ...caller, service: "imagebuilder", operation, input })) as Record<
        string,
        unknown
      >;
  }

  /** The operations, with the DescribeStacks registered before (the orchestrator stack's) as fallback. */
  operations(fallbackDescribeStacks?: Operation): Record<string, Operation> {
    return {
      CreateChangeSet: (call) => this.#createChangeSet(call),
      DescribeChangeSet: (call) => this.#describeChangeSet(call),
      ExecuteChangeSet: (call) => this.#executeChangeSet(call),
      DeleteChangeSet: (call) => {
        const { stack, changeSet } = this.#changeSet(call);
        if (changeSet.executionStatus === "EXECUTE_IN_PROGRESS")
          throw new SandboxAwsError({
            name: "InvalidChangeSetStatusException",
            message: `ChangeSet [${changeSet.id}] cannot be deleted in its current execution status of [EXECUTE_IN_PROGRESS]`,
          });
        stack.changeSets.delete(changeSet.id);
        return {};
      },
      ListChangeSets: (call) => {
        const stack = this.stack(call, String(call.input.StackName));
        if (!stack) throw validation(`Stack [${String(call.input.StackName)}] does not exist`);
        return {
          Summaries: [...stack.changeSets.values()].map((changeSet) => ({
            StackId: stack.id,
            StackName: stack.name,
            ChangeSetId: changeSet.id,
            ChangeSetName: changeSet.name,
            ExecutionStatus: changeSet.executionStatus,
            Status: changeSet.status,
            ...(changeSet.statusReason ? { StatusReason: changeSet.statusReason } : {}),
            CreationTime: new Date(changeSet.createdAt),
            ...(changeSet.description ? { Description: changeSet.description } : {}),
            IncludeNestedStacks: false,
          })),
        };
      },
      DescribeStacks: async (call) => {
        const name = call.input.StackName as string | undefined;
        if (name !== undefined) {
          const stack = this.stack(call, name);
          if (stack) return { Stacks: [describeStack(stack)] };
          if (fallbackDescribeStacks) return fallbackDescribeStacks(call);
          throw validation(`Stack with id ${name} does not exist`);
        }
        const others = fallbackDescribeStacks
          ? (((await fallbackDescribeStacks(call)) as { Stacks?: unknown[] }).Stacks ?? [])
          : [];
        const mine = [...this.stacks.values()]
          .filter((stack) => stack.accountId === call.accountId && stack.region === call.region)
          .filter((stack) => stack.status !== "DELETE_COMPLETE")
          .map((stack) => describeStack(stack));
        return { Stacks: [...others, ...mine] };
      },
      DescribeStackEvents: (call) => {
        const stack = this.stack(call, String(call.input.StackName));
        if (!stack) throw validation(`Stack [${String(call.input.StackName)}] does not exist`);
        const events = [...stack.events].reverse();
        const start = call.input.NextToken ? Number(call.input.NextToken) : 0;
        return {
          StackEvents: structuredClone(events.slice(start, start + 100)),
          ...(start + 100 < events.length ? { NextToken: String(start + 100) } : {}),
        };
      },
      DescribeEvents: (call) => {
        if (call.input.ChangeSetName !== undefined) {
          const { stack, changeSet } = this.#changeSet(call);
          return { OperationEvents: validationEvents(stack, changeSet) };
        }
        const stack = this.stack(call, String(call.input.StackName));
        if (!stack) throw validation(`Stack [${String(call.input.StackName)}] does not exist`);
        const filters = call.input.Filters as { FailedEvents?: boolean } | undefined;
        return { OperationEvents: stackOperationEvents(stack, filters?.FailedEvents === true) };
      },
      DeleteStack: async (call) => {
        const stack = this.stack(call, String(call.input.StackName));
        // Deleting a stack that is not there succeeds.
        if (!stack || stack.status === "DELETE_COMPLETE") return {};
        await deleteStack(
          stack,
          this.#imageBuilder(this.#caller(call, stack, stack.roleArn)),
          new Set((call.input.RetainResources ?? []) as string[]),
        );
        return {};
      },
    };
  }

  #createChangeSet(call: CallContext) {
    const input = call.input;
    const stackName = String(input.StackName);
    const changeSetName = String(input.ChangeSetName);
    const type = String(input.ChangeSetType ?? "UPDATE");
    if (type === "IMPORT")
      throw awsError("SandboxNotModelled", "the sandbox does not import resources", 501);
    if (input.TemplateURL !== undefined)
      throw awsError("SandboxNotModelled", "the sandbox has no S3: pass TemplateBody", 501);
    let stack = this.stack(call, stackName);
    if (type === "CREATE" && stack && stack.status !== "REVIEW_IN_PROGRESS")
      throw validation(
        `Stack [${stackName}] already exists and cannot be created again with the changeSet [${changeSetName}].`,
      );
    if (type === "UPDATE") {
      if (!stack) throw validation(`Stack [${stackName}] does not exist`);
      if (
        ["REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"].includes(
          stack.status,
        )
      )
        throw validation(`Stack:${stack.id} is in ${stack.status} state and can not be updated.`);
    }
    if ([...(stack?.changeSets.values() ?? [])].some((item) => item.name === changeSetName))
      throw new SandboxAwsError({
        name: "AlreadyExistsException",
        message: `ChangeSet ${changeSetName} already exists`,
      });
    const body = input.UsePreviousTemplate
      ? JSON.stringify(stack?.template ?? "")
      : input.TemplateBody;
    if (typeof body !== "string" || (input.UsePreviousTemplate && !stack?.template))
      throw validation("Either Template URL or Template Body must be specified.");
    const template = parseTemplate(body);
    checkTemplate(template);
    const parameters = parameterValues(
      template,
      (input.Parameters ?? []) as Array<{ ParameterKey?: string; ParameterValue?: string }>,
      stack?.parameters,
    );

    if (!stack) {
      const id = this.stackArn(call.accountId, call.region, stackName);
      stack = {
        id,
        name: stackName,
        accountId: call.accountId,
        region: call.region,
        createdAt: this.host.clock.now(),
        status: "REVIEW_IN_PROGRESS",
        statusReason: "User Initiated",
        parameters: {},
        resources: new Map(),
        outputs: [],
        events: [],
        changeSets: new Map(),
      };
      this.stacks.set(id, stack);
    }
    const planned = planChanges(stack, template, parameters);
    const id = `arn:aws:cloudformation:${call.region}:${call.accountId}:changeSet/${changeSetName}/${uuid(`${stack.id}|${changeSetName}|${this.host.clock.now()}|${stack.changeSets.size}`)}`;
    const changeSet: ChangeSet = {
      id,
      name: changeSetName,
      stackId: stack.id,
      type: type as "CREATE" | "UPDATE",
      template,
      templateBody: body,
      parameters,
      changes: planned.changes,
      createdAt: this.host.clock.now(),
      ...(input.Description ? { description: String(input.Description) } : {}),
      ...(input.RoleARN ? { roleArn: String(input.RoleARN) } : {}),
      status: "CREATE_COMPLETE",
      executionStatus: "AVAILABLE",
      validationFailures: planned.validationFailures,
      operationId: uuid(`${id}|operation`),
    };
    stack.changeSets.set(id, changeSet);
    return nameConflicts(
      stack,
      planned.namedAdds,
      this.#imageBuilder(this.#caller(call, stack, undefined)),
    ).then((conflicts) => {
      changeSet.validationFailures.push(...conflicts);
      const failed = earlyValidationReason(changeSet.validationFailures);
      const same =
        JSON.stringify(stack.template) === JSON.stringify(template) &&
        JSON.stringify(stack.parameters) === JSON.stringify(parameters);
      if (failed || (planned.changes.length === 0 && same)) {
        changeSet.status = "FAILED";
        changeSet.executionStatus = "UNAVAILABLE";
        changeSet.statusReason = failed ?? NO_CHANGES;
      }
      return { Id: id, StackId: stack.id };
    });
  }

  #describeChangeSet(call: CallContext) {
    const { stack, changeSet } = this.#changeSet(call);
    const include = call.input.IncludePropertyValues === true;
    const start = call.input.NextToken ? Number(call.input.NextToken) : 0;
    const page: unknown[] = [];
    let bytes = 0;
    let index = start;
    for (; index < changeSet.changes.length; index += 1) {
      const change = describeChange(
        changeSet.changes[index] as ChangeSet["changes"][number],
        include,
      );
      const size = JSON.stringify(change).length;
      if (page.length > 0 && bytes + size > this.changesPageBytes) break;
      page.push(change);
      bytes += size;
    }
    return {
      ChangeSetName: changeSet.name,
      ChangeSetId: changeSet.id,
      StackId: stack.id,
      StackName: stack.name,
      ...(changeSet.description ? { Description: changeSet.description } : {}),
      Parameters: Object.entries(changeSet.parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      CreationTime: new Date(changeSet.createdAt),
      ExecutionStatus: changeSet.executionStatus,
      Status: changeSet.status,
      ...(changeSet.statusReason ? { StatusReason: changeSet.statusReason } : {}),
      NotificationARNs: [],
      RollbackConfiguration: {},
      Capabilities: [],
      Changes: page,
      ...(index < changeSet.changes.length ? { NextToken: String(index) } : {}),
      IncludeNestedStacks: false,
    };
  }

  async #executeChangeSet(call: CallContext) {
    const { stack, changeSet } = this.#changeSet(call);
    if (changeSet.status !== "CREATE_COMPLETE" || changeSet.executionStatus !== "AVAILABLE")
      throw new SandboxAwsError({
        name: "InvalidChangeSetStatusException",
        message: `ChangeSet [${changeSet.id}] cannot be executed in its current status of [${changeSet.status}] and execution status of [${changeSet.executionStatus}]`,
      });
    if (changeSet.roleArn) stack.roleArn = changeSet.roleArn;
    const caller = this.#caller(call, stack, changeSet.roleArn ?? stack.roleArn);
    changeSet.executionStatus = "EXECUTE_IN_PROGRESS";
    // "CloudFormation deletes any additional change sets that are associated with the stack".
    for (const other of [...stack.changeSets.keys()])
      if (other !== changeSet.id) stack.changeSets.delete(other);
    await executeChangeSet(stack, changeSet, {
      now: () => this.host.clock.now(),
      imageBuilder: async (operation, input) =>
        (await this.host.call({ ...caller, service: "imagebuilder", operation, input })) as Record<
          string,
          unknown
        >,
      ...(call.input.DisableRollback === true ? { disableRollback: true } : {}),
      ...(call.input.RetainExceptOnCreate === true ? { retainExceptOnCreate: true } : {}),
      ...(call.input.ClientRequestToken
        ? { clientRequestToken: String(call.input.ClientRequestToken) }
        : {}),
    });
    return {};
  }
}
