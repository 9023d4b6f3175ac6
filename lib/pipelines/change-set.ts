import {
  type Change,
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStacksCommand,
  waitUntilChangeSetCreateComplete,
} from "@aws-sdk/client-cloudformation";
import { errorName, OrchestratorError } from "../errors.ts";
import { sha256 } from "./hash.ts";

/**
 * The image stack's change set: created from the synthesized template, waited for, read in
 * full, and deleted (plan) or executed (deploy). CloudFormation decides what a deploy would
 * replace; we only read its answer.
 */

/** CloudFormation quotas: a template passed in the request body is at most 51,200 bytes. */
export const MAX_TEMPLATE_BODY_BYTES = 51200;

export interface WaiterOptions {
  /** Seconds; the SDK's defaults are 30 to 120 between polls. */
  readonly minDelay?: number;
  readonly maxDelay?: number;
  readonly maxWaitTime?: number;
}

export interface ChangeSetRequest {
  readonly stackName: string;
  readonly templateBody: string;
  /** An S3 URL of the same template, required past MAX_TEMPLATE_BODY_BYTES. */
  readonly templateUrl?: string;
  readonly description?: string;
  readonly waiter?: WaiterOptions;
}

export interface CreatedChangeSet {
  readonly stackName: string;
  readonly changeSetName: string;
  readonly changeSetType: "CREATE" | "UPDATE";
  /** The stack was not deployed: the change set made (or reused) an empty one in REVIEW_IN_PROGRESS. */
  readonly createdStack: boolean;
  /** CloudFormation found nothing to change. */
  readonly noChanges: boolean;
  readonly changes: readonly Change[];
  readonly statusReason?: string;
}

/** The change set could not be made, or the stack did not deploy. */
export class ChangeSetError extends OrchestratorError {}

/** Same template, same name: a re-run finds (and replaces) its own change set. */
export const changeSetNameFor = (templateBody: string): string =>
  `ami-orchestrator-${sha256(templateBody).slice(0, 16)}`;

/** What the stack is now: absent, only reviewed (never created), or deployed. */
const stackState = async (
  client: CloudFormationClient,
  stackName: string,
): Promise<"absent" | "review" | "deployed"> => {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const status = Stacks?.[0]?.StackStatus;
    if (status === undefined) return "absent";
    return status === "REVIEW_IN_PROGRESS" ? "review" : "deployed";
  } catch (error) {
    // DescribeStacks answers a missing stack with ValidationError "Stack with id … does not exist".
    if (errorName(error) === "ValidationError" && /does not exist/.test(String(error))) {
      return "absent";
    }
    throw error;
  }
};

/** "The submitted information didn't contain changes…" / "No updates are to be performed." */
const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

const describeAll = async (
  client: CloudFormationClient,
  stackName: string,
  changeSetName: string,
): Promise<{ first: DescribeChangeSetCommandOutput; changes: Change[] }> => {
  const changes: Change[] = [];
  let first: DescribeChangeSetCommandOutput | undefined;
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeChangeSetCommand({
        StackName: stackName,
        ChangeSetName: changeSetName,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    first ??= page;
    changes.push(...(page.Changes ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  return { first, changes };
};

export const createChangeSet = async (
  client: CloudFormationClient,
  request: ChangeSetRequest,
): Promise<CreatedChangeSet> => {
  const { stackName, templateBody } = request;
  const bytes = Buffer.byteLength(templateBody, "utf8");
  if (bytes > MAX_TEMPLATE_BODY_BYTES && request.templateUrl === undefined) {
    throw new ChangeSetError(
      `the template is ${bytes} bytes, more than the ${MAX_TEMPLATE_BODY_BYTES} CloudFormation takes in a request: pass --template-bucket (it is uploaded to S3 first), or set componentBucket so component documents leave the template`,
    );
  }
  const state = await stackState(client, stackName);
  const changeSetType = state === "deployed" ? "UPDATE" : "CREATE";
  const changeSetName = changeSetNameFor(templateBody);
  const create = () =>
    client.send(
      new CreateChangeSetCommand({
        StackName: stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: changeSetType,
        ...(request.templateUrl
          ? { TemplateURL: request.templateUrl }
          : { TemplateBody: templateBody }),
        ...(request.description ? { Description: request.description } : {}),
        Tags: [{ Key: "ami-orchestrator:stack", Value: "images" }],
      }),
    );
  try {
    await create();
  } catch (error) {
    // A plan that stopped half-way left its change set: replace it.
    if (errorName(error) !== "AlreadyExistsException") throw error;
    await client.send(
      new DeleteChangeSetCommand({ StackName: stackName, ChangeSetName: changeSetName }),
    );
    await create();
  }
  try {
    await waitUntilChangeSetCreateComplete(
      { client, maxWaitTime: 600, ...request.waiter },
      { StackName: stackName, ChangeSetName: changeSetName },
    );
  } catch {
    // FAILED is also how CloudFormation says "nothing to change": read the reason below.
  }
  const { first, changes } = await describeAll(client, stackName, changeSetName);
  const reason = first.StatusReason;
  const noChanges = first.Status === "FAILED" && NO_CHANGES.test(reason ?? "");
  const createdStack = state !== "deployed";
  if (first.Status !== "CREATE_COMPLETE" && !noChanges) {
    await discardChangeSet(client, { stackName, changeSetName, createdStack });
    throw new ChangeSetError(
      `change set ${changeSetName} of ${stackName} is ${first.Status ?? "unknown"}: ${reason ?? "no reason given"}`,
    );
  }
  return {
    stackName,
    changeSetName,
    changeSetType,
    createdStack,
    noChanges,
    changes: noChanges ? [] : changes,
    ...(reason ? { statusReason: reason } : {}),
  };
};

/** Removes the change set, and the empty stack a CREATE change set made: a plan leaves nothing. */
export const discardChangeSet = async (
  client: CloudFormationClient,
  changeSet: Pick<CreatedChangeSet, "stackName" | "changeSetName" | "createdStack">,
): Promise<void> => {
  await client.send(
    new DeleteChangeSetCommand({
      StackName: changeSet.stackName,
      ChangeSetName: changeSet.changeSetName,
    }),
  );
  if (changeSet.createdStack) {
    try {
      await client.send(new DeleteStackCommand({ StackName: changeSet.stackName }));
    } catch {
      // Not allowed (templates/ci-role.yml grants no DeleteStack) or already gone: an empty
      // REVIEW_IN_PROGRESS stack holds nothing, and the next CREATE change set reuses it.
    }
  }
};
