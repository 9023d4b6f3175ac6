import type { SimulationDecision, SimulationRequest } from "../model/iam.ts";
import type { SandboxWorld } from "../model/world.ts";
import { type Caller, callerOf, type SignedCall } from "./caller.ts";
import { decisionKey } from "./decision-key.ts";
import { accessDenied, refusal } from "./error-spellings.ts";
import { accountOfArn, evaluate, missingContextKeys, unknownConditionKeys } from "./evaluation.ts";
import { keyPolicy, type PolicyDocument, type RolePolicies } from "./policies.ts";
import { type AuthorizationRequest, requestsFor } from "./requests.ts";
import { withoutAction, withoutStatement } from "./role-edits.ts";

export type { Caller, SignedCall } from "./caller.ts";

/**
 * IAM for the sandbox: every intercepted call is authorised against the identity that makes it
 * (caller.ts), with the policies we deploy, by @cloud-copilot/iam-simulate (evaluation.ts). A
 * refused call fails the way that service spells it (error-spellings.ts).
 */

export interface AuthorizerSetup {
  /** Each function's role, by function name (serverless.yml). */
  readonly functionRoles: Map<string, RolePolicies>;
  /** Roles that can be assumed, by ARN (templates/target-account-role.yml per account). */
  readonly roles: Map<string, RolePolicies>;
  /** A key's policy (the owner's key policy); none for keys the sandbox does not know. */
  readonly keyPolicy?: (keyArn: string) => PolicyDocument | undefined;
  /** Queue policies by queue ARN (serverless.yml's AWS::SQS::QueuePolicy resources). */
  readonly queuePolicies?: ReadonlyMap<string, PolicyDocument>;
}

export interface Refusal {
  readonly caller: string;
  readonly action: string;
  readonly resource: string;
  readonly error: string;
  readonly implicitFor?: string;
}

export class IamAuthorizer {
  /** Calls checked against IAM, refused, and made as the administrator (not checked). */
  readonly stats = { checked: 0, refused: 0, admin: 0 };
  readonly refusals: Refusal[] = [];
  /** What the sandbox could not evaluate offline (condition keys it cannot know...). */
  readonly notes = new Set<string>();
  readonly #setup: AuthorizerSetup;
  readonly #decisions = new Map<string, Promise<{ allowed: boolean; reason: string }>>();
  /** Each role's identity policies as JSON, for decision keys (a role is replaced, never edited). */
  #policyText = new WeakMap<RolePolicies, string>();

  constructor(
    private readonly world: SandboxWorld,
    setup: AuthorizerSetup,
  ) {
    this.#setup = {
      ...setup,
      keyPolicy:
        setup.keyPolicy ??
        ((keyArn) => {
          const key = world.kms.keys.get(keyArn);
          return key ? keyPolicy(key.accountId, [...key.allowedAccounts]) : undefined;
        }),
    };
  }

  /** What a test run should show: the counts, each refusal, and what could not be evaluated. */
  report(): string {
    return [
      `sandbox IAM: ${this.stats.checked} calls checked, ${this.stats.refused} refused, ${this.stats.admin} made as the administrator (not checked)`,
      ...[
        ...new Set(
          this.refusals.map(
            (r) =>
              `  refused ${r.error}: ${r.caller} ${r.action} on ${r.resource}${r.implicitFor ? ` (for ${r.implicitFor})` : ""}`,
          ),
        ),
      ],
      ...[...this.notes].map((note) => `  not evaluable offline: ${note}`),
    ].join("\n");
  }

  /** Deploys (or redeploys) an assumable role, e.g. with another ExternalId. */
  setRole(role: RolePolicies): void {
    this.#setup.roles.set(role.roleArn, role);
    this.#decisions.clear();
  }

  /** The role a function runs with, or of a role ARN. */
  role(functionOrRoleArn: string): RolePolicies | undefined {
    return (
      this.#setup.functionRoles.get(functionOrRoleArn) ?? this.#setup.roles.get(functionOrRoleArn)
    );
  }

  /**
   * Takes `action` out of every statement of a role (a function name or a role ARN), as if it had
   * been deleted from serverless.yml or the template; returns what puts it back.
   */
  withoutPermission(functionOrRoleArn: string, action: string): () => void {
    const map = this.#setup.functionRoles.has(functionOrRoleArn)
      ? this.#setup.functionRoles
      : this.#setup.roles;
    const role = map.get(functionOrRoleArn);
    if (!role) throw new Error(`no role for ${functionOrRoleArn}`);
    map.set(functionOrRoleArn, withoutAction(role, action, functionOrRoleArn));
    this.#decisions.clear();
    return () => {
      map.set(functionOrRoleArn, role);
      this.#decisions.clear();
    };
  }

  /**
   * Deploys an assumable role without one of its statements (by Sid), as a stack deployed from an
   * older template would have it; returns what puts it back.
   */
  withoutStatement(roleArn: string, sid: string): () => void {
    const role = this.#setup.roles.get(roleArn);
    if (!role) throw new Error(`no role ${roleArn}`);
    this.setRole(withoutStatement(role, sid, roleArn));
    return () => this.setRole(role);
  }

  /** Who signed the call. Expired credentials are refused here, before any policy. */
  caller(call: SignedCall): Caller {
    return callerOf(this.world, this.#setup.functionRoles, call);
  }

  /**
   * Authorises one call, or throws the service's refusal. Calls made outside any function (test
   * setup, the rollout CLI run by a person) are the account administrator's: allowed, counted.
   */
  async authorize(call: SignedCall): Promise<void> {
    const caller = this.caller(call);
    if (caller.kind === "admin") {
      this.stats.admin += 1;
      return;
    }
    const { requests, notes } = requestsFor(this.world, call);
    for (const note of notes) this.notes.add(note);
    this.stats.checked += 1;
    for (const request of requests) {
      const decision = await this.#decide(caller, request);
      if (decision.allowed) continue;
      this.stats.refused += 1;
      const spelling = accessDenied(call.service);
      this.refusals.push({
        caller: caller.principalArn,
        action: request.action,
        resource: request.resource,
        error: spelling.name,
        ...(request.implicitFor ? { implicitFor: request.implicitFor } : {}),
      });
      throw refusal(
        spelling,
        `User: ${caller.principalArn} is not authorized to perform: ${request.action} on resource: ${request.resource}${request.implicitFor ? ` (checked by ${request.implicitFor})` : ""} because ${decision.reason}`,
      );
    }
  }

  /** The resource's own policy, where the request's service has one the sandbox deploys. */
  #resourcePolicy(request: AuthorizationRequest): PolicyDocument | undefined {
    if (request.action === "sts:AssumeRole")
      // A role that does not exist trusts nobody: AWS answers AccessDenied, not NoSuchEntity.
      return (
        this.#setup.roles.get(request.resource)?.trustPolicy ?? {
          Version: "2012-10-17",
          Statement: [],
        }
      );
    if (request.action.startsWith("kms:")) return this.#setup.keyPolicy?.(request.resource);
    // A queue's policy is its resource policy: within one account an allow in it or in the
    // identity policy suffices, and an explicit deny in either wins (IAM User Guide, "Policy
    // evaluation for requests within a single account"; SQS developer guide, "Using
    // identity-based policies with Amazon SQS").
    if (request.action.startsWith("sqs:")) return this.#setup.queuePolicies?.get(request.resource);
    return undefined;
  }

  #decide(
    caller: Exclude<Caller, { kind: "admin" }>,
    request: AuthorizationRequest,
  ): Promise<{ allowed: boolean; reason: string }> {
    const role = this.role(caller.kind === "function" ? caller.functionName : caller.roleArn);
    const identityPolicies = (role?.policies ?? []).map(({ name, policy }) => ({ name, policy }));
    const resourcePolicy = this.#resourcePolicy(request);
    const context: Record<string, string | string[]> = {
      "aws:PrincipalArn": caller.roleArn,
      "aws:PrincipalAccount": caller.accountId,
      "aws:RequestedRegion": request.resource.split(":")[3] || "us-east-1",
      "aws:SecureTransport": "true",
      ...request.context,
    };
    for (const note of unknownConditionKeys(request, context, [
      ...identityPolicies.map(({ policy }) => policy),
      ...(resourcePolicy ? [resourcePolicy] : []),
    ]))
      this.notes.add(note);
    let identityText = role ? this.#policyText.get(role) : "[]";
    if (identityText === undefined && role) {
      identityText = JSON.stringify(identityPolicies);
      this.#policyText.set(role, identityText);
    }
    // The same for two targets that differ only by their account ids (decision-key.ts).
    const cacheKey = decisionKey(
      [caller.principalArn, request],
      [identityText ?? "[]", JSON.stringify(resourcePolicy ?? null)],
    );
    const cached = this.#decisions.get(cacheKey);
    if (cached) return cached;
    const decision = evaluate({
      principal: caller.principalArn,
      request,
      context,
      identityPolicies,
      ...(resourcePolicy ? { resourcePolicy } : {}),
    }).then((result) => {
      if (result.decision === "allowed") return { allowed: true, reason: "allowed" };
      const reason =
        result.decision === "explicitDeny"
          ? "an explicit deny applies"
          : !result.identityAllowed
            ? `no identity-based policy allows the ${request.action} action`
            : `no resource-based policy allows the ${request.action} action`;
      return { allowed: false, reason };
    });
    this.#decisions.set(cacheKey, decision);
    return decision;
  }

  /**
   * iam:SimulatePrincipalPolicy for a role the sandbox deploys (sandbox/model/iam.ts): its
   * identity policies alone (no resource policy: "Simulation of resource-based policies isn't
   * supported for IAM roles", IAM API reference), with only the context the caller gave.
   * Undefined when no such role is deployed.
   */
  simulate(roleArn: string, request: SimulationRequest): Promise<SimulationDecision> | undefined {
    const role =
      this.#setup.roles.get(roleArn) ??
      [...this.#setup.functionRoles.values()].find((candidate) => candidate.roleArn === roleArn);
    if (!role) return undefined;
    const identityPolicies = role.policies.map(({ name, policy }) => ({ name, policy }));
    const missingContext = missingContextKeys(
      identityPolicies.map(({ policy }) => policy),
      request.action,
      request.context,
    );
    return evaluate({
      principal: roleArn,
      request: {
        ...request,
        resourceAccount: accountOfArn(request.resource) ?? roleArn.split(":")[4] ?? "",
      },
      context: request.context,
      identityPolicies,
    }).then(({ decision }) => ({ decision, missingContext }));
  }
}
