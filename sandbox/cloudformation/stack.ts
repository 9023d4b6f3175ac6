import type { Template } from "./template.ts";

/**
 * The state the sandbox's CloudFormation keeps per stack and change set, shaped after the API's
 * Stack, StackEvent, Change and DescribeChangeSet output (botocore cloudformation 2010-05-15).
 */

export type StackStatus =
  | "REVIEW_IN_PROGRESS"
  | "CREATE_IN_PROGRESS"
  | "CREATE_COMPLETE"
  | "CREATE_FAILED"
  | "ROLLBACK_IN_PROGRESS"
  | "ROLLBACK_COMPLETE"
  | "ROLLBACK_FAILED"
  | "UPDATE_IN_PROGRESS"
  | "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
  | "UPDATE_COMPLETE"
  | "UPDATE_FAILED"
  | "UPDATE_ROLLBACK_IN_PROGRESS"
  | "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
  | "UPDATE_ROLLBACK_COMPLETE"
  | "UPDATE_ROLLBACK_FAILED"
  | "DELETE_IN_PROGRESS"
  | "DELETE_COMPLETE"
  | "DELETE_FAILED";

/** One deployed resource: what was applied and what `Ref`/`Fn::GetAtt` give. */
export interface StackResource {
  readonly logicalId: string;
  readonly type: string;
  readonly physicalId: string;
  /** The resolved properties last applied. */
  readonly properties: Record<string, unknown>;
  /** `Ref` and the attributes, as strings (lists and objects as their JSON). */
  readonly attributes: Record<string, string>;
  readonly deletionPolicy?: string;
  readonly updateReplacePolicy?: string;
}

export interface StackEvent {
  readonly EventId: string;
  readonly StackId: string;
  readonly StackName: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceType: string;
  readonly Timestamp: Date;
  readonly ResourceStatus: string;
  readonly ResourceStatusReason?: string;
  readonly ClientRequestToken?: string;
}

/** A failure CloudFormation's pre-deployment validation found (DescribeEvents VALIDATION_ERROR). */
export interface ValidationFailure {
  readonly logicalId: string;
  readonly type: string;
  readonly path: string;
  readonly reason: string;
  /** DescribeEvents ValidationName (the property check's when absent). */
  readonly validation?: string;
}

export interface Change {
  readonly Type: "Resource";
  readonly ResourceChange: Record<string, unknown>;
}

export interface ChangeSet {
  readonly id: string;
  readonly name: string;
  readonly stackId: string;
  readonly type: "CREATE" | "UPDATE";
  readonly template: Template;
  readonly templateBody: string;
  readonly parameters: Record<string, string>;
  /** With BeforeContext/AfterContext and before/after values (shown for IncludePropertyValues). */
  readonly changes: Change[];
  readonly createdAt: number;
  readonly description?: string;
  readonly roleArn?: string;
  status: "CREATE_COMPLETE" | "FAILED" | "DELETE_COMPLETE";
  statusReason?: string;
  executionStatus:
    | "AVAILABLE"
    | "UNAVAILABLE"
    | "EXECUTE_IN_PROGRESS"
    | "EXECUTE_COMPLETE"
    | "EXECUTE_FAILED"
    | "OBSOLETE";
  readonly validationFailures: ValidationFailure[];
  readonly operationId: string;
}

export interface Stack {
  readonly id: string;
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly createdAt: number;
  updatedAt?: number;
  status: StackStatus;
  statusReason?: string;
  /** The template and parameters last deployed (none while REVIEW_IN_PROGRESS). */
  template?: Template;
  parameters: Record<string, string>;
  readonly resources: Map<string, StackResource>;
  outputs: Array<{ OutputKey: string; OutputValue: string; Description?: string }>;
  readonly events: StackEvent[];
  readonly changeSets: Map<string, ChangeSet>;
  roleArn?: string;
  description?: string;
}
