import { resolverFor } from "./changes.ts";
import {
  HandlerError,
  handlerError,
  type ImageBuilderCall,
  provisionerFor,
} from "./provisioners.ts";
import { createOnlyProperties, type ResourceSchema, schemaOf } from "./resource-types.ts";
import type { ChangeSet, Stack, StackResource } from "./stack.ts";
import { creationOrder, type Template } from "./template.ts";

/**
 * Executing a change set: the stack deploy itself.
 *
 * - Resources are created and updated in dependency order; a change to a createOnly property
 *   replaces the resource: "CloudFormation creates the new resource first, changes references from
 *   other dependent resources to point to the replacement resource, and then deletes the old
 *   resource" during UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (CloudFormation user guide, "Understand
 *   update behaviors of stack resources", Replacement; "Stack status codes"). So a replacement
 *   whose new resource cannot exist next to the old one fails, as on AWS.
 * - Removed and replaced resources are deleted last, in reverse dependency order, unless their
 *   DeletionPolicy (removed) or UpdateReplacePolicy (replaced) is Retain (user guide,
 *   "DeletionPolicy attribute", "UpdateReplacePolicy attribute"). A deletion that fails during
 *   cleanup leaves the resource behind (DELETE_FAILED) without failing the update.
 * - A failure rolls back: resources updated in place are updated back, resources created by the
 *   operation are deleted (keeping those whose DeletionPolicy is Retain unless
 *   RetainExceptOnCreate: API reference, ExecuteChangeSet), and the stack ends in
 *   UPDATE_ROLLBACK_COMPLETE (ROLLBACK_COMPLETE for a new stack) with the previous template, or
 *   UPDATE_FAILED/CREATE_FAILED with DisableRollback.
 */

export interface ExecuteOptions {
  readonly imageBuilder: ImageBuilderCall;
  readonly now: () => number;
  readonly disableRollback?: boolean;
  readonly retainExceptOnCreate?: boolean;
  readonly clientRequestToken?: string;
}

type Done =
  | { readonly kind: "created"; readonly now: StackResource }
  | { readonly kind: "replaced"; readonly old: StackResource; readonly now: StackResource }
  | { readonly kind: "updated"; readonly old: StackResource; readonly now: StackResource };

let events = 0;
const nextEvent = () => {
  events += 1;
  return events.toString(36);
};

const json = (value: unknown) => JSON.stringify(value ?? null);

export const executeChangeSet = async (
  stack: Stack,
  changeSet: ChangeSet,
  options: ExecuteOptions,
): Promise<void> => {
  const creating = changeSet.type === "CREATE";
  const template = changeSet.template;
  const previous = {
    template: stack.template,
    parameters: stack.parameters,
    order: stack.template ? creationOrder(stack.template) : [],
  };
  const context = { accountId: stack.accountId, region: stack.region, stackName: stack.name };
  const event = (
    logicalId: string,
    type: string,
    status: string,
    physicalId?: string,
    reason?: string,
  ) =>
    stack.events.push({
      EventId: `${logicalId}-${nextEvent()}`,
      StackId: stack.id,
      StackName: stack.name,
      LogicalResourceId: logicalId,
      ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
      ResourceType: type,
      Timestamp: new Date(options.now()),
      ResourceStatus: status,
      ...(reason ? { ResourceStatusReason: reason } : {}),
      ...(options.clientRequestToken ? { ClientRequestToken: options.clientRequestToken } : {}),
    });
  const stackEvent = (status: Stack["status"], reason?: string) => {
    stack.status = status;
    if (reason) stack.statusReason = reason;
    else delete stack.statusReason;
    // The API model's StackEvent ResourceStatus has no cleanup statuses: those are the stack's only.
    if (!status.endsWith("_CLEANUP_IN_PROGRESS"))
      event(stack.name, "AWS::CloudFormation::Stack", status, stack.id, reason);
  };
  const attributes = () =>
    Object.fromEntries([...stack.resources].map(([id, resource]) => [id, resource.attributes]));
  const record = (
    logicalId: string,
    resource: Template["Resources"][string],
    physicalId: string,
    properties: Record<string, unknown>,
    values: Record<string, string>,
  ): StackResource => ({
    logicalId,
    type: resource.Type,
    physicalId,
    properties,
    attributes: values,
    ...(resource.DeletionPolicy ? { deletionPolicy: resource.DeletionPolicy } : {}),
    ...(resource.UpdateReplacePolicy ? { updateReplacePolicy: resource.UpdateReplacePolicy } : {}),
  });

  stackEvent(creating ? "CREATE_IN_PROGRESS" : "UPDATE_IN_PROGRESS", "User Initiated");
  const done: Done[] = [];
  const replaced: StackResource[] = [];
  const deployedIds = new Set<string>();
  let failed: { logicalId: string; error: unknown } | undefined;

  for (const logicalId of creationOrder(template)) {
    const resource = template.Resources[logicalId];
    if (!resource) continue;
    const schema = schemaOf(resource.Type) as ResourceSchema;
    const provisioner = provisionerFor(resource.Type, schema);
    const properties = resolverFor(template, context, changeSet.parameters, attributes()).resource(
      logicalId,
    );
    if (!properties) continue; // its Condition is false
    deployedIds.add(logicalId);
    const old = stack.resources.get(logicalId);
    const changed = old
      ? [...new Set([...Object.keys(old.properties), ...Object.keys(properties)])].filter(
          (name) => json(old.properties[name]) !== json(properties[name]),
        )
      : [];
    try {
      if (!old || changed.some((name) => createOnlyProperties(schema).has(name))) {
        event(
          logicalId,
          resource.Type,
          old ? "UPDATE_IN_PROGRESS" : "CREATE_IN_PROGRESS",
          old?.physicalId,
          old
            ? "Requested update requires the creation of a new physical resource; hence creating one."
            : undefined,
        );
        const created = await provisioner.create(options.imageBuilder, properties);
        const now = record(logicalId, resource, created.physicalId, properties, created.attributes);
        stack.resources.set(logicalId, now);
        if (old) {
          done.push({ kind: "replaced", old, now });
          replaced.push({
            ...old,
            ...(resource.UpdateReplacePolicy
              ? { updateReplacePolicy: resource.UpdateReplacePolicy }
              : {}),
          });
        } else done.push({ kind: "created", now });
        event(
          logicalId,
          resource.Type,
          old ? "UPDATE_COMPLETE" : "CREATE_COMPLETE",
          now.physicalId,
        );
      } else if (changed.length > 0) {
        event(logicalId, resource.Type, "UPDATE_IN_PROGRESS", old.physicalId);
        const updated = await provisioner.update(
          options.imageBuilder,
          old,
          old.properties,
          properties,
        );
        const now = record(logicalId, resource, old.physicalId, properties, updated.attributes);
        stack.resources.set(logicalId, now);
        done.push({ kind: "updated", old, now });
        event(logicalId, resource.Type, "UPDATE_COMPLETE", old.physicalId);
      } else {
        // Nothing to do; the new template's policies apply from now on.
        stack.resources.set(
          logicalId,
          record(logicalId, resource, old.physicalId, old.properties, old.attributes),
        );
      }
    } catch (error) {
      const failure = handlerError(resource.Type, error);
      if (!(failure instanceof HandlerError)) {
        stackEvent(creating ? "CREATE_FAILED" : "UPDATE_FAILED", failure.message);
        throw failure;
      }
      event(
        logicalId,
        resource.Type,
        old ? "UPDATE_FAILED" : "CREATE_FAILED",
        old?.physicalId,
        failure.message,
      );
      failed = { logicalId, error: failure };
      break;
    }
  }

  if (failed) {
    await rollBack(stack, previous, done, failed.logicalId, {
      ...options,
      creating,
      event,
      stackEvent,
    });
    changeSet.executionStatus = "EXECUTE_FAILED";
    return;
  }

  // Cleanup: replaced resources and removed ones, newest dependents first.
  if (!creating) stackEvent("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS");
  const removed = [...stack.resources.values()].filter(
    (resource) => !deployedIds.has(resource.logicalId),
  );
  const doomed = [
    ...replaced.map((resource) => ({
      resource,
      retain: resource.updateReplacePolicy === "Retain",
    })),
    ...removed.map((resource) => ({ resource, retain: resource.deletionPolicy === "Retain" })),
  ].sort(
    (a, b) =>
      previous.order.indexOf(b.resource.logicalId) - previous.order.indexOf(a.resource.logicalId),
  );
  for (const { resource, retain } of doomed) {
    if (!replaced.includes(resource)) stack.resources.delete(resource.logicalId);
    if (retain) {
      event(resource.logicalId, resource.type, "DELETE_SKIPPED", resource.physicalId);
      continue;
    }
    event(resource.logicalId, resource.type, "DELETE_IN_PROGRESS", resource.physicalId);
    try {
      await provisionerFor(resource.type, schemaOf(resource.type) as ResourceSchema).delete(
        options.imageBuilder,
        resource.physicalId,
      );
      event(resource.logicalId, resource.type, "DELETE_COMPLETE", resource.physicalId);
    } catch (error) {
      const failure = handlerError(resource.type, error);
      if (!(failure instanceof HandlerError)) throw failure;
      event(
        resource.logicalId,
        resource.type,
        "DELETE_FAILED",
        resource.physicalId,
        failure.message,
      );
    }
  }

  stack.template = template;
  stack.parameters = changeSet.parameters;
  stack.updatedAt = options.now();
  if (changeSet.template.Description) stack.description = changeSet.template.Description;
  const resolver = resolverFor(template, context, changeSet.parameters, attributes());
  stack.outputs = Object.entries(template.Outputs ?? {}).map(([key, output]) => ({
    OutputKey: key,
    OutputValue: String(resolver.resolve(output.Value)),
    ...(output.Description ? { Description: output.Description } : {}),
  }));
  stackEvent(creating ? "CREATE_COMPLETE" : "UPDATE_COMPLETE");
  changeSet.executionStatus = "EXECUTE_COMPLETE";
};

const rollBack = async (
  stack: Stack,
  previous: { template: Template | undefined; parameters: Record<string, string> },
  done: Done[],
  failedId: string,
  options: ExecuteOptions & {
    creating: boolean;
    event: (id: string, type: string, status: string, physicalId?: string, reason?: string) => void;
    stackEvent: (status: Stack["status"], reason?: string) => void;
  },
) => {
  const { creating, event, stackEvent } = options;
  const reason = `The following resource(s) failed to ${creating ? "create" : "update"}: [${failedId}].`;
  if (options.disableRollback) {
    stackEvent(creating ? "CREATE_FAILED" : "UPDATE_FAILED", reason);
    return;
  }
  stackEvent(creating ? "ROLLBACK_IN_PROGRESS" : "UPDATE_ROLLBACK_IN_PROGRESS", reason);
  const provisioner = (resource: StackResource) =>
    provisionerFor(resource.type, schemaOf(resource.type) as ResourceSchema);
  try {
    // Updates in place are undone first, then what the operation created goes.
    for (const entry of [...done].reverse()) {
      if (entry.kind !== "updated") continue;
      event(entry.old.logicalId, entry.old.type, "UPDATE_IN_PROGRESS", entry.old.physicalId);
      await provisioner(entry.old).update(
        options.imageBuilder,
        entry.now,
        entry.now.properties,
        entry.old.properties,
      );
      stack.resources.set(entry.old.logicalId, entry.old);
      event(entry.old.logicalId, entry.old.type, "UPDATE_COMPLETE", entry.old.physicalId);
    }
    if (!creating) stackEvent("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS");
    for (const entry of [...done].reverse()) {
      if (entry.kind === "updated") continue;
      const created = entry.now;
      if (entry.kind === "replaced") stack.resources.set(created.logicalId, entry.old);
      else stack.resources.delete(created.logicalId);
      if (created.deletionPolicy === "Retain" && !options.retainExceptOnCreate) {
        event(created.logicalId, created.type, "DELETE_SKIPPED", created.physicalId);
        continue;
      }
      event(created.logicalId, created.type, "DELETE_IN_PROGRESS", created.physicalId);
      await provisioner(created).delete(options.imageBuilder, created.physicalId);
      event(created.logicalId, created.type, "DELETE_COMPLETE", created.physicalId);
    }
  } catch (error) {
    const failure = handlerError("AWS::CloudFormation::Stack", error);
    stackEvent(creating ? "ROLLBACK_FAILED" : "UPDATE_ROLLBACK_FAILED", failure.message);
    if (!(failure instanceof HandlerError)) throw failure;
    return;
  }
  if (previous.template) stack.template = previous.template;
  stack.parameters = previous.parameters;
  stackEvent(creating ? "ROLLBACK_COMPLETE" : "UPDATE_ROLLBACK_COMPLETE", reason);
};

/**
 * DeleteStack: the stack's resources, newest dependents first, except those whose DeletionPolicy
 * is Retain or that RetainResources names (API reference, DeleteStack); a failed deletion leaves
 * the stack DELETE_FAILED.
 */
export const deleteStack = async (
  stack: Stack,
  imageBuilder: ImageBuilderCall,
  retain: ReadonlySet<string>,
): Promise<void> => {
  stack.status = "DELETE_IN_PROGRESS";
  const order = stack.template
    ? creationOrder(stack.template).reverse()
    : [...stack.resources.keys()];
  for (const logicalId of order) {
    const resource = stack.resources.get(logicalId);
    if (!resource) continue;
    if (resource.deletionPolicy !== "Retain" && !retain.has(logicalId)) {
      try {
        await provisionerFor(resource.type, schemaOf(resource.type) as ResourceSchema).delete(
          imageBuilder,
          resource.physicalId,
        );
      } catch (error) {
        stack.status = "DELETE_FAILED";
        stack.statusReason = `The following resource(s) failed to delete: [${logicalId}]. ${(error as Error).message}`;
        return;
      }
    }
    stack.resources.delete(logicalId);
  }
  stack.status = "DELETE_COMPLETE";
  stack.changeSets.clear();
};
