import type { IAMClient } from "@aws-sdk/client-iam";
import {
  type PermissionRequest,
  type SimulatedRequest,
  SimulationUnavailableError,
  simulate,
} from "../launch-permissions.ts";

/** How the doctor reads the target role's simulated decisions (SimulatePrincipalPolicy). */

/** The role's decisions, or why they could not be simulated (an older target stack). */
export const simulated = async (
  iam: IAMClient,
  roleArn: string,
  requests: readonly PermissionRequest[],
): Promise<{ results: SimulatedRequest[] } | { unavailable: string }> => {
  try {
    return { results: await simulate(iam, roleArn, requests) };
  } catch (error) {
    if (error instanceof SimulationUnavailableError) return { unavailable: error.message };
    throw error;
  }
};

/**
 * Context keys the role's policies test that the simulation could not be given: an allowed
 * decision then still depends on them (a Deny on a key that is absent does not fire).
 */
export const untestedKeys = (results: readonly SimulatedRequest[]): string => {
  const keys = [...new Set(results.flatMap((result) => result.missingContext))];
  return keys.length > 0
    ? ` (the policies also test ${keys.join(", ")}, which the simulation was not given: check them by hand)`
    : "";
};

/** Refused by a layer the target stack does not own: an SCP, the boundary, or an explicit deny. */
export const refusedOutsideTheStack = (request: SimulatedRequest) =>
  request.deniedBy !== undefined || request.decision === "explicitDeny";

/** "ec2:CreateTags on instance/*, volume/* (implicitDeny)": refused requests by action and decision. */
export const refusedText = (refused: readonly SimulatedRequest[]) => {
  const byAction = new Map<string, string[]>();
  for (const request of refused) {
    const key = `${request.action}|${request.decision}`;
    byAction.set(key, [...(byAction.get(key) ?? []), request.resource]);
  }
  return [...byAction]
    .map(([key, resources]) => {
      const [action, decision] = key.split("|");
      return `${action} on ${resources.join(", ")} (${decision})`;
    })
    .join("; ");
};
