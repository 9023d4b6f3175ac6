import type { ChangeSet, Stack } from "./stack.ts";

/**
 * What the read operations answer for a stack the sandbox deployed: DescribeStacks' Stack and
 * DescribeEvents' OperationEvents (botocore cloudformation 2010-05-15 shapes).
 */

export const describeStack = (stack: Stack) => ({
  StackId: stack.id,
  StackName: stack.name,
  ...(stack.description ? { Description: stack.description } : {}),
  Parameters: Object.entries(stack.parameters).map(([ParameterKey, ParameterValue]) => ({
    ParameterKey,
    ParameterValue,
  })),
  CreationTime: new Date(stack.createdAt),
  ...(stack.updatedAt ? { LastUpdatedTime: new Date(stack.updatedAt) } : {}),
  RollbackConfiguration: {},
  StackStatus: stack.status,
  ...(stack.statusReason ? { StackStatusReason: stack.statusReason } : {}),
  DisableRollback: false,
  NotificationARNs: [],
  Capabilities: [],
  ...(stack.outputs.length > 0 ? { Outputs: structuredClone(stack.outputs) } : {}),
  ...(stack.roleArn ? { RoleARN: stack.roleArn } : {}),
  Tags: [],
  EnableTerminationProtection: false,
  DriftInformation: { StackDriftStatus: "NOT_CHECKED" },
});

/**
 * DescribeEvents for a change set: what its pre-deployment validation found, as VALIDATION_ERROR
 * events with the path into the template. The ValidationName of the property check is the
 * sandbox's reading (rain's output shows NAME_CONFLICT_VALIDATION for name conflicts).
 */
export const validationEvents = (stack: Stack, changeSet: ChangeSet) =>
  changeSet.validationFailures.map((failure, index) => ({
    EventId: `${changeSet.operationId}-${index}`,
    StackId: stack.id,
    OperationId: changeSet.operationId,
    OperationType: "CREATE_CHANGESET",
    OperationStatus: "FAILED",
    EventType: "VALIDATION_ERROR",
    LogicalResourceId: failure.logicalId,
    ResourceType: failure.type,
    Timestamp: new Date(changeSet.createdAt),
    ValidationFailureMode: "FAIL",
    ValidationName: failure.validation ?? "PROPERTY_VALIDATION",
    ValidationStatus: "FAILED",
    ValidationStatusReason: failure.reason,
    ValidationPath: failure.path,
  }));

/** DescribeEvents for a stack: its resource events, failures as PROVISIONING_ERROR. */
export const stackOperationEvents = (stack: Stack, failedOnly: boolean) =>
  stack.events
    .filter((event) => !failedOnly || event.ResourceStatus.endsWith("_FAILED"))
    .map((event) => ({
      EventId: event.EventId,
      StackId: stack.id,
      EventType: event.ResourceStatus.endsWith("_FAILED") ? "PROVISIONING_ERROR" : "STACK_EVENT",
      LogicalResourceId: event.LogicalResourceId,
      ...(event.PhysicalResourceId ? { PhysicalResourceId: event.PhysicalResourceId } : {}),
      ResourceType: event.ResourceType,
      Timestamp: event.Timestamp,
      ResourceStatus: event.ResourceStatus,
      ...(event.ResourceStatusReason ? { ResourceStatusReason: event.ResourceStatusReason } : {}),
    }));
