import type { SandboxWorld } from "../model/world.ts";

/**
 * Deploys an image stack in the sandbox the way `aws cloudformation deploy` does (awscli
 * customizations/cloudformation/deployer.py): a CREATE change set for a stack that does not exist
 * (or is REVIEW_IN_PROGRESS), else UPDATE; nothing to execute when the change set "didn't contain
 * changes"; then ExecuteChangeSet. Every call goes through the world as the given credentials
 * (the orchestrator account's administrator when none), so it is IAM-checked and validated like an
 * SDK call; the sandbox completes a deploy within ExecuteChangeSet, so there is nothing to wait for.
 */

export interface ImageStackDeployment {
  readonly accountId: string;
  readonly region: string;
  readonly stackName: string;
  /** The template body (JSON or YAML), or the template as data. */
  readonly template: string | object;
  readonly parameters?: Record<string, string>;
  /** Credentials to deploy with (sandbox/identity.ts), e.g. an assumed CI role's session. */
  readonly accessKeyId?: string;
  readonly changeSetName?: string;
}

export interface ImageStackResult {
  readonly changeSetId: string;
  /** The change set's changes (empty when there was nothing to deploy). */
  readonly changes: ReadonlyArray<Record<string, unknown>>;
  readonly executed: boolean;
  readonly status: string;
  readonly statusReason?: string;
  readonly outputs: Record<string, string>;
}

let deployments = 0;

export const deployImageStack = async (
  world: SandboxWorld,
  deployment: ImageStackDeployment,
): Promise<ImageStackResult> => {
  const call = async (operation: string, input: Record<string, unknown>) =>
    (await world.call({
      service: "cloudformation",
      operation,
      accountId: deployment.accountId,
      region: deployment.region,
      ...(deployment.accessKeyId ? { accessKeyId: deployment.accessKeyId } : {}),
      input,
    })) as Record<string, unknown>;
  const describeStack = async () => {
    const { Stacks } = (await call("DescribeStacks", { StackName: deployment.stackName })) as {
      Stacks: Array<Record<string, unknown>>;
    };
    return Stacks[0] as Record<string, unknown>;
  };
  let existing: Record<string, unknown> | undefined;
  try {
    existing = await describeStack();
  } catch (error) {
    if (!/does not exist/.test((error as Error).message)) throw error;
  }
  deployments += 1;
  const name = deployment.changeSetName ?? `sandbox-deploy-${deployments}`;
  const { Id } = (await call("CreateChangeSet", {
    StackName: deployment.stackName,
    ChangeSetName: name,
    ChangeSetType: existing && existing.StackStatus !== "REVIEW_IN_PROGRESS" ? "UPDATE" : "CREATE",
    TemplateBody:
      typeof deployment.template === "string"
        ? deployment.template
        : JSON.stringify(deployment.template),
    Parameters: Object.entries(deployment.parameters ?? {}).map(([key, value]) => ({
      ParameterKey: key,
      ParameterValue: value,
    })),
  })) as { Id: string };
  const changes: Array<Record<string, unknown>> = [];
  let description: Record<string, unknown> = {};
  let next: string | undefined;
  do {
    description = await call("DescribeChangeSet", {
      ChangeSetName: Id,
      ...(next ? { NextToken: next } : {}),
    });
    changes.push(...((description.Changes ?? []) as Array<Record<string, unknown>>));
    next = description.NextToken as string | undefined;
  } while (next);
  if (description.Status === "FAILED") {
    if (!/didn't contain changes/.test(String(description.StatusReason)))
      throw new Error(`change set ${name} failed: ${String(description.StatusReason)}`);
    await call("DeleteChangeSet", { ChangeSetName: Id });
  } else await call("ExecuteChangeSet", { ChangeSetName: Id });
  const stack = await describeStack();
  return {
    changeSetId: Id,
    changes,
    executed: description.Status !== "FAILED",
    status: String(stack.StackStatus),
    ...(stack.StackStatusReason ? { statusReason: String(stack.StackStatusReason) } : {}),
    outputs: Object.fromEntries(
      ((stack.Outputs ?? []) as Array<{ OutputKey: string; OutputValue: string }>).map((output) => [
        output.OutputKey,
        output.OutputValue,
      ]),
    ),
  };
};
