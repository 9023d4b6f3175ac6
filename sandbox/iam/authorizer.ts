import { runSimulation } from "@cloud-copilot/iam-simulate";
import { accountOfAccessKeyId, sandboxAccessKeyId } from "../identity.ts";
import { SandboxAwsError } from "../model/errors.ts";
import type { CallContext } from "../model/faults.ts";
import type { SimulationDecision, SimulationRequest } from "../model/iam.ts";
import type { SandboxWorld } from "../model/world.ts";
import { decisionKey } from "./decision-key.ts";
import { keyPolicy, type PolicyDocument, type RolePolicies } from "./policies.ts";
import { type AuthorizationRequest, requestsFor } from "./requests.ts";

/**
 * IAM for the sandbox: every intercepted call is authorised against the identity that makes it,
 * with the policies we deploy, by @cloud-copilot/iam-simulate (AGPL-3.0: a devDependency, never
 * bundled into a function). A refused call fails the way that service spells it.
 */

/** Who makes a call. */
export type Caller =
  | { readonly kind: "admin"; readonly accountId: string }
  | {
      readonly kind: "function";
      readonly accountId: string;
      readonly functionName: string;
      readonly roleArn: string;
      readonly principalArn: string;
    }
  | {
      readonly kind: "assumed";
      readonly accountId: string;
      readonly roleArn: string;
      readonly principalArn: string;
    };

/** A call as the sandbox sees it: which credentials signed it, from which function. */
export interface SignedCall extends CallContext {
  readonly accessKeyId?: string;
  readonly functionName?: string;
}

/** An error spelling per service protocol. */
interface Spelling {
  readonly name: string;
  readonly code?: string;
  readonly status: number;
}

/**
 * Access denied, as each service spells it. Query-protocol services (STS, IAM, Auto Scaling,
 * CloudFormation) and
 * SQS (JSON with awsQueryCompatible, which hands the SDK the query code) answer `AccessDenied`;
 * SNS models `AuthorizationErrorException` (code AuthorizationError, 403); EC2 answers
 * `UnauthorizedOperation`; the JSON services `AccessDeniedException`.
 * Sources: botocore service-2.json (protocols, error shapes), the EC2 API reference "Error codes"
 * (errors-overview.html), the services' "Common Errors" pages.
 */
const DENIED: Record<string, Spelling> = {
  sts: { name: "AccessDenied", status: 403 },
  iam: { name: "AccessDenied", status: 403 },
  autoscaling: { name: "AccessDenied", status: 403 },
  sqs: { name: "AccessDenied", status: 403 },
  sns: { name: "AuthorizationErrorException", code: "AuthorizationError", status: 403 },
  ec2: { name: "UnauthorizedOperation", status: 403 },
  imagebuilder: { name: "AccessDeniedException", status: 403 },
  cloudformation: { name: "AccessDenied", status: 403 },
};
const DENIED_JSON: Spelling = { name: "AccessDeniedException", status: 400 };

/**
 * Expired credentials: `ExpiredToken` from query-protocol services and SQS (AWS re:Post knowledge
 * center "ec2-expired-token" quotes SQS's "Error Code: ExpiredToken"), `ExpiredTokenException`
 * from JSON services ("Common Errors"), and EC2's `RequestExpired` ("If you're using temporary
 * security credentials, this error can also occur if the credentials have expired", EC2 API
 * reference, error codes).
 */
const EXPIRED: Record<string, Spelling> = {
  sts: { name: "ExpiredToken", status: 403 },
  iam: { name: "ExpiredToken", status: 403 },
  autoscaling: { name: "ExpiredToken", status: 403 },
  sqs: { name: "ExpiredToken", status: 403 },
  sns: { name: "ExpiredToken", status: 403 },
  ec2: { name: "RequestExpired", status: 400 },
  imagebuilder: { name: "ExpiredTokenException", status: 403 },
  cloudformation: { name: "ExpiredToken", status: 403 },
};
const EXPIRED_JSON: Spelling = { name: "ExpiredTokenException", status: 400 };

/**
 * An access key AWS does not know: `InvalidClientTokenId` (query services' "Common Errors"),
 * EC2's `AuthFailure`, JSON services' `UnrecognizedClientException`.
 */
const INVALID_KEY: Record<string, Spelling> = {
  sts: { name: "InvalidClientTokenId", status: 403 },
  iam: { name: "InvalidClientTokenId", status: 403 },
  autoscaling: { name: "InvalidClientTokenId", status: 403 },
  sqs: { name: "InvalidClientTokenId", status: 403 },
  sns: { name: "InvalidClientTokenId", status: 403 },
  ec2: { name: "AuthFailure", status: 401 },
  cloudformation: { name: "InvalidClientTokenId", status: 403 },
};
const INVALID_KEY_JSON: Spelling = { name: "UnrecognizedClientException", status: 400 };

const refusal = (spelling: Spelling, message: string) => {
  const error = new SandboxAwsError({
    name: spelling.name,
    message,
    httpStatusCode: spelling.status,
  });
  if (spelling.code) Object.assign(error, { Code: spelling.code });
  return error;
};

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

const actionMatches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(
    action,
  );

/** The account an ARN names, if any (an image's or a bucket's names none). */
const accountOfArn = (arn: string): string | undefined => arn.split(":")[4] || undefined;

const asList = (value: unknown): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];

/** Condition keys the sandbox sets itself for every request. */
const GLOBAL_KEYS = new Set([
  "aws:principalarn",
  "aws:principalaccount",
  "aws:requestedregion",
  "aws:securetransport",
  "aws:currenttime",
  "aws:epochtime",
  "aws:resourceaccount",
  "aws:userid",
  "aws:username",
  "aws:principaltype",
  "aws:viaawsservice",
  "aws:calledviafirst",
]);

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
    let removed = false;
    const policies = role.policies.map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: policy.Statement.flatMap((statement) => {
          const actions = asList(statement.Action);
          const kept = actions.filter(
            (candidate) => candidate.toLowerCase() !== action.toLowerCase(),
          );
          if (kept.length === actions.length) return [statement];
          removed = true;
          return kept.length > 0 ? [{ ...statement, Action: kept }] : [];
        }),
      },
    }));
    if (!removed) throw new Error(`${functionOrRoleArn} has no statement with ${action}`);
    map.set(functionOrRoleArn, { ...role, policies });
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
    const policies = role.policies.map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: policy.Statement.filter((statement) => statement.Sid !== sid),
      },
    }));
    if (
      policies.every(
        ({ policy }, index) =>
          policy.Statement.length === role.policies[index]?.policy.Statement.length,
      )
    )
      throw new Error(`${roleArn} has no statement ${sid}`);
    this.setRole({ ...role, policies });
    return () => this.setRole(role);
  }

  /** Who signed the call. Expired credentials are refused here, before any policy. */
  caller(call: SignedCall): Caller {
    const session = call.accessKeyId ? this.world.sts.sessions.get(call.accessKeyId) : undefined;
    if (session) {
      if (session.expiration <= this.world.clock.now()) {
        throw refusal(
          EXPIRED[call.service] ?? EXPIRED_JSON,
          "The security token included in the request is expired",
        );
      }
      return {
        kind: "assumed",
        accountId: session.accountId,
        roleArn: session.roleArn,
        principalArn: session.roleArn
          .replace(/^arn:([^:]+):iam::/, "arn:$1:sts::")
          .replace(/:role\/(?:.*\/)?([^/]+)$/, `:assumed-role/$1/${session.sessionName}`),
      };
    }
    const base = sandboxAccessKeyId(this.world.orchestratorAccountId);
    // A session key this world's STS never issued (e.g. cached from another sandbox): AWS does
    // not know it either.
    if (call.accessKeyId && call.accessKeyId !== base && accountOfAccessKeyId(call.accessKeyId)) {
      throw refusal(
        INVALID_KEY[call.service] ?? INVALID_KEY_JSON,
        "The security token included in the request is invalid.",
      );
    }
    if (call.functionName && (call.accessKeyId === undefined || call.accessKeyId === base)) {
      const role = this.#setup.functionRoles.get(call.functionName);
      if (!role)
        throw new Error(
          `sandbox IAM: function ${call.functionName} has no role in serverless.yml; name it as serverless.yml does`,
        );
      const roleName = role.roleArn.split("/").at(-1);
      return {
        kind: "function",
        accountId: this.world.orchestratorAccountId,
        functionName: call.functionName,
        roleArn: role.roleArn,
        // Lambda's session for a function's role is named after the function.
        principalArn: `arn:aws:sts::${this.world.orchestratorAccountId}:assumed-role/${roleName}/${call.functionName}`,
      };
    }
    return { kind: "admin", accountId: call.accountId };
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
      const spelling = DENIED[call.service] ?? DENIED_JSON;
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

  #decide(
    caller: Exclude<Caller, { kind: "admin" }>,
    request: AuthorizationRequest,
  ): Promise<{ allowed: boolean; reason: string }> {
    const role = this.role(caller.kind === "function" ? caller.functionName : caller.roleArn);
    const identityPolicies = (role?.policies ?? []).map(({ name, policy }) => ({ name, policy }));
    const resourcePolicy =
      request.action === "sts:AssumeRole"
        ? // A role that does not exist trusts nobody: AWS answers AccessDenied, not NoSuchEntity.
          (this.#setup.roles.get(request.resource)?.trustPolicy ?? {
            Version: "2012-10-17",
            Statement: [],
          })
        : request.action.startsWith("kms:")
          ? this.#setup.keyPolicy?.(request.resource)
          : // A queue's policy is its resource policy: within one account an allow in it or in
            // the identity policy suffices, and an explicit deny in either wins (IAM User Guide,
            // "Policy evaluation for requests within a single account"; SQS developer guide,
            // "Using identity-based policies with Amazon SQS").
            request.action.startsWith("sqs:")
            ? this.#setup.queuePolicies?.get(request.resource)
            : undefined;
    const context: Record<string, string | string[]> = {
      "aws:PrincipalArn": caller.roleArn,
      "aws:PrincipalAccount": caller.accountId,
      "aws:RequestedRegion": request.resource.split(":")[3] || "us-east-1",
      "aws:SecureTransport": "true",
      ...request.context,
    };
    this.#noteUnknownKeys(request, context, [
      ...identityPolicies.map(({ policy }) => policy),
      ...(resourcePolicy ? [resourcePolicy] : []),
    ]);
    let identityText = role ? this.#policyText.get(role) : "[]";
    if (identityText === undefined && role) {
      identityText = JSON.stringify(identityPolicies);
      this.#policyText.set(role, identityText);
    }
    const cacheKey = decisionKey(
      [caller.principalArn, request],
      [identityText ?? "[]", JSON.stringify(resourcePolicy ?? null)],
    );
    const cached = this.#decisions.get(cacheKey);
    if (cached) return cached;
    const decision = this.#evaluate({
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
    const given = new Set(Object.keys(request.context).map((key) => key.toLowerCase()));
    // The keys the role's statements for this action test that were not given: what IAM lists
    // as MissingContextValues.
    const missingContext = [
      ...new Set(
        identityPolicies.flatMap(({ policy }) =>
          policy.Statement.filter((statement) =>
            asList(statement.Action).some((pattern) => actionMatches(pattern, request.action)),
          ).flatMap((statement) =>
            Object.values((statement.Condition ?? {}) as Record<string, Record<string, unknown>>)
              .flatMap((keys) => Object.keys(keys))
              .filter((key) => !given.has(key.toLowerCase())),
          ),
        ),
      ),
    ];
    return this.#evaluate({
      principal: roleArn,
      request: {
        ...request,
        resourceAccount: accountOfArn(request.resource) ?? roleArn.split(":")[4] ?? "",
      },
      context: request.context,
      identityPolicies,
    }).then(({ decision }) => ({ decision, missingContext }));
  }

  /** One evaluation by @cloud-copilot/iam-simulate. */
  async #evaluate(input: {
    principal: string;
    request: Pick<AuthorizationRequest, "action" | "resource" | "resourceAccount">;
    context: Record<string, string | string[]>;
    identityPolicies: Array<{ name: string; policy: PolicyDocument }>;
    resourcePolicy?: PolicyDocument;
  }): Promise<{ decision: SimulationDecision["decision"]; identityAllowed: boolean }> {
    const { request } = input;
    const result = await runSimulation(
      {
        request: {
          principal: input.principal,
          action: request.action,
          resource: { resource: request.resource, accountId: request.resourceAccount },
          contextVariables: input.context,
        },
        identityPolicies: input.identityPolicies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(input.resourcePolicy ? { resourcePolicy: input.resourcePolicy } : {}),
      },
      {},
    );
    if (result.resultType === "error")
      throw new Error(
        `sandbox IAM could not evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
      );
    const analysis = result.resultType === "single" ? result.result.analysis : undefined;
    return {
      decision:
        result.overallResult === "Allowed"
          ? "allowed"
          : result.overallResult === "ExplicitlyDenied"
            ? "explicitDeny"
            : "implicitDeny",
      identityAllowed: analysis?.identityAnalysis?.result === "Allowed",
    };
  }

  /** Condition keys a matching statement tests that the sandbox did not set: reported, not guessed. */
  #noteUnknownKeys(
    request: AuthorizationRequest,
    context: Record<string, unknown>,
    policies: PolicyDocument[],
  ): void {
    const known = new Set(Object.keys(context).map((key) => key.toLowerCase()));
    for (const policy of policies) {
      for (const statement of policy.Statement) {
        if (!asList(statement.Action).some((pattern) => actionMatches(pattern, request.action)))
          continue;
        const conditions = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
        for (const [operator, keys] of Object.entries(conditions)) {
          for (const key of Object.keys(keys)) {
            const lower = key.toLowerCase();
            if (known.has(lower) || GLOBAL_KEYS.has(lower)) continue;
            // Tags the resource does not carry are known to be absent.
            if (/^(aws|ec2|autoscaling):resourcetag\//.test(lower)) continue;
            // The key is absent here, and the operator says what absence means.
            if (operator.endsWith("IfExists") || operator === "Null") continue;
            this.notes.add(
              `${request.action}: condition key ${key} (${String(statement.Sid ?? "statement")}) is not known offline; evaluated as absent`,
            );
          }
        }
      }
    }
  }
}
