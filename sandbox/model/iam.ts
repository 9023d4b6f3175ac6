import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

export const AUTO_SCALING_SLR = "AWSServiceRoleForAutoScaling";

export const slrArn = (accountId: string, suffix?: string): string =>
  `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/${AUTO_SCALING_SLR}${suffix ? `_${suffix}` : ""}`;

/** One request of a policy simulation: an action on a resource, with the context given. */
export interface SimulationRequest {
  readonly action: string;
  readonly resource: string;
  readonly context: Record<string, string | string[]>;
}

/** How a role's policies decide a request (SimulatePrincipalPolicy's EvalDecision). */
export interface SimulationDecision {
  readonly decision: "allowed" | "explicitDeny" | "implicitDeny";
  /** Condition keys the role's statements for the action test that the request did not give. */
  readonly missingContext: string[];
}

/** Evaluates a role's deployed policies (sandbox/iam/authorizer.ts); undefined: no such role. */
export type PolicySimulator = (
  roleArn: string,
  request: SimulationRequest,
) => Promise<SimulationDecision> | undefined;

const stableId = (prefix: string, seed: string) =>
  `${prefix}${Buffer.from(seed).toString("hex").slice(0, 17).toUpperCase()}`;

/**
 * IAM: the Auto Scaling service-linked roles and the instance profiles (with their roles) of each
 * account, and the policy simulator over the roles the sandbox deploys.
 */
export class IamModel {
  /** Role names per account. */
  readonly roles = new Map<string, Set<string>>();
  /** When each role created through the API (CreateServiceLinkedRole) was created, by ARN. */
  readonly createdAt = new Map<string, number>();
  /**
   * How long a new role takes to reach other services. IAM is eventually consistent: "the change
   * must be replicated across IAM, which can take some time. Such changes include creating or
   * updating users, groups, roles, or policies" (IAM user guide, Eventually Consistent;
   * troubleshoot_general "Changes that I make are not always immediately visible"); AWS gives no
   * figure.
   */
  propagationMs = 30_000;
  /** Instance profiles per account: profile name → its role's name (or none). */
  readonly instanceProfiles = new Map<string, Map<string, string | undefined>>();
  /** Set where roles with policies exist (worldFromConfig: the authorizer's). */
  simulator?: PolicySimulator;

  constructor(private readonly now: () => number = () => 0) {}

  addInstanceProfile(accountId: string, name: string, roleName?: string): void {
    const profiles = this.instanceProfiles.get(accountId) ?? new Map<string, string | undefined>();
    profiles.set(name, roleName);
    this.instanceProfiles.set(accountId, profiles);
    if (roleName) this.roles.set(accountId, (this.roles.get(accountId) ?? new Set()).add(roleName));
  }

  /** The role ARN of an instance profile; null when the profile has none, undefined when absent. */
  instanceProfileRole(accountId: string, name: string): string | null | undefined {
    const profiles = this.instanceProfiles.get(accountId);
    if (!profiles?.has(name)) return undefined;
    const role = profiles.get(name);
    return role ? `arn:aws:iam::${accountId}:role/${role}` : null;
  }

  addServiceLinkedRole(accountId: string, suffix?: string): string {
    const roles = this.roles.get(accountId) ?? new Set<string>();
    roles.add(`${AUTO_SCALING_SLR}${suffix ? `_${suffix}` : ""}`);
    this.roles.set(accountId, roles);
    return slrArn(accountId, suffix);
  }

  hasRole(arn: string): boolean {
    const match = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    return Boolean(match && this.roles.get(match[1] as string)?.has(match[2] as string));
  }

  /**
   * Whether other services (KMS) see the role at `at`: a role created through the API only once
   * it propagated; roles the world starts with long have.
   */
  visibleToServices(arn: string, at: number): boolean {
    const created = this.createdAt.get(arn);
    return created === undefined || created + this.propagationMs <= at;
  }

  /** The model's Role shape (IAM API model: Path, RoleName, RoleId, Arn, CreateDate required). */
  #role(accountId: string, name: string) {
    const path = name.startsWith(AUTO_SCALING_SLR)
      ? "/aws-service-role/autoscaling.amazonaws.com/"
      : "/";
    const arn = `arn:aws:iam::${accountId}:role${path}${name}`;
    return {
      RoleName: name,
      Path: path,
      Arn: arn,
      RoleId: stableId("AROA", `${accountId}${name}`),
      CreateDate: new Date(this.createdAt.get(arn) ?? 0),
    };
  }

  readonly operations = {
    GetRole: (call: CallContext) => {
      const name = String(call.input.RoleName);
      if (!this.roles.get(call.accountId)?.has(name)) {
        throw awsError("NoSuchEntityException", `The role with name ${name} cannot be found.`, 404);
      }
      return { Role: this.#role(call.accountId, name) };
    },
    // IAM API reference, GetInstanceProfile: the profile (Path, InstanceProfileName,
    // InstanceProfileId, Arn, CreateDate, Roles: all required by the model) or
    // NoSuchEntityException (404).
    GetInstanceProfile: (call: CallContext) => {
      const name = String(call.input.InstanceProfileName);
      const role = this.instanceProfileRole(call.accountId, name);
      if (role === undefined)
        throw awsError("NoSuchEntityException", `Instance Profile ${name} cannot be found.`, 404);
      const roleName = role?.split("/").at(-1) ?? "";
      return {
        InstanceProfile: {
          Path: "/",
          InstanceProfileName: name,
          InstanceProfileId: stableId("AIPA", `${call.accountId}${name}`),
          Arn: `arn:aws:iam::${call.accountId}:instance-profile/${name}`,
          CreateDate: new Date(0),
          Roles: role
            ? [
                {
                  Path: "/",
                  RoleName: roleName,
                  RoleId: stableId("AROA", `${call.accountId}${roleName}`),
                  Arn: role,
                  CreateDate: new Date(0),
                },
              ]
            : [],
        },
      };
    },
    /**
     * IAM API reference, SimulatePrincipalPolicy: the entity's identity policies (and permissions
     * boundary; the sandbox deploys none) evaluated for each action on each resource
     * (ResourceArns, default "*"), with only the ContextEntries given ("Whenever a context key is
     * evaluated in one of the simulated IAM permissions policies, the corresponding value is
     * supplied"). One EvaluationResult per action and resource, its decision allowed,
     * explicitDeny or implicitDeny, keys the policies test but were not given in
     * MissingContextValues (under ResourceSpecificResults when resources are listed); pages of
     * MaxItems (default 100) with IsTruncated/Marker. An entity that does not exist:
     * NoSuchEntityException. Evaluated by the authorizer's engine over the deployed policies.
     */
    SimulatePrincipalPolicy: async (call: CallContext) => {
      const source = String(call.input.PolicySourceArn);
      const context: Record<string, string | string[]> = {};
      for (const entry of (call.input.ContextEntries ?? []) as Array<{
        ContextKeyName?: string;
        ContextKeyType?: string;
        ContextKeyValues?: string[];
      }>) {
        if (!entry.ContextKeyName) continue;
        const values = entry.ContextKeyValues ?? [];
        context[entry.ContextKeyName] = entry.ContextKeyType?.endsWith("List")
          ? values
          : (values[0] ?? "");
      }
      const resources = (call.input.ResourceArns as string[] | undefined) ?? ["*"];
      const listed = call.input.ResourceArns !== undefined;
      const pairs = (call.input.ActionNames as string[]).flatMap((action) =>
        resources.map((resource) => ({ action, resource })),
      );
      const results = [];
      for (const { action, resource } of pairs) {
        const evaluation = this.simulator?.(source, { action, resource, context });
        if (!evaluation || source.split(":")[4] !== call.accountId)
          throw awsError(
            "NoSuchEntityException",
            `The role with name ${source.split("/").at(-1)} cannot be found.`,
            404,
          );
        const { decision, missingContext } = await evaluation;
        results.push({
          EvalActionName: action,
          EvalResourceName: resource,
          EvalDecision: decision,
          ...(listed
            ? {
                EvalDecisionDetails: {},
                ResourceSpecificResults: [
                  {
                    EvalResourceName: resource,
                    EvalResourceDecision: decision,
                    MissingContextValues: missingContext,
                  },
                ],
              }
            : { MissingContextValues: missingContext }),
        });
      }
      const start = call.input.Marker ? Number(call.input.Marker) : 0;
      const size = Number(call.input.MaxItems ?? 100);
      const truncated = start + size < results.length;
      return {
        EvaluationResults: results.slice(start, start + size),
        IsTruncated: truncated,
        ...(truncated ? { Marker: String(start + size) } : {}),
      };
    },
    CreateServiceLinkedRole: (call: CallContext) => {
      if (call.input.AWSServiceName !== "autoscaling.amazonaws.com") {
        throw awsError("InvalidInputException", "the sandbox models Auto Scaling's role only");
      }
      const suffix = call.input.CustomSuffix ? String(call.input.CustomSuffix) : undefined;
      const name = `${AUTO_SCALING_SLR}${suffix ? `_${suffix}` : ""}`;
      if (this.roles.get(call.accountId)?.has(name)) {
        throw awsError(
          "InvalidInputException",
          `Service role name ${name} has been taken in this account, please try a different suffix.`,
        );
      }
      this.createdAt.set(this.addServiceLinkedRole(call.accountId, suffix), this.now());
      return { Role: this.#role(call.accountId, name) };
    },
  };
}
