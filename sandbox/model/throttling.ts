import { type AwsErrorShape, SandboxAwsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** A token bucket: `capacity` requests at once, then `refillPerSecond` as time passes. */
export interface BucketSpec {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

/**
 * The token bucket algorithm AWS documents for EC2 and Auto Scaling throttling: each request
 * takes a token; a bucket below capacity gains `refillPerSecond` tokens a second, never beyond
 * capacity. Refill here is continuous rather than once a second, a smoothing that admits the
 * same number of requests over any whole second.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly spec: BucketSpec,
    now: number,
  ) {
    this.#tokens = spec.capacity;
    this.#at = now;
  }

  take(now: number): boolean {
    if (now > this.#at) {
      this.#tokens = Math.min(
        this.spec.capacity,
        this.#tokens + ((now - this.#at) / 1000) * this.spec.refillPerSecond,
      );
      this.#at = now;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Which bucket a call draws from (per caller account and region), and what AWS answers when empty. */
interface Quota {
  readonly bucket: string;
  readonly spec: BucketSpec;
  readonly error: AwsErrorShape;
}

// --- EC2 --------------------------------------------------------------------------------------
// "Amazon EC2 throttles EC2 API requests for each AWS account on a per-Region basis", with a
// token bucket per API ("each API is evaluated individually"; "Limits are applied to individual
// API actions, not API action categories"), sized by the action's category. Source: EC2 developer
// guide, "Request throttling for the Amazon EC2 API",
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html (also
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html).
/** Non-mutating actions (Describe*, List*, Search*, Get*): 100 tokens, 20 per second. */
const EC2_NON_MUTATING: BucketSpec = { capacity: 100, refillPerSecond: 20 };
/**
 * "Unfiltered and unpaginated non-mutating actions": the listed actions called "without
 * specifying either pagination or a filter" draw from a smaller bucket: 50 tokens, 10 per
 * second. We read "filter" as the `Filters` parameter the page links to, and "pagination" as
 * `MaxResults`/`NextToken`: DescribeSnapshots by `SnapshotIds` alone is unfiltered.
 */
const EC2_UNFILTERED: BucketSpec = { capacity: 50, refillPerSecond: 10 };
const EC2_UNFILTERED_ACTIONS = new Set([
  "DescribeInstances",
  "DescribeInstanceStatus",
  "DescribeNetworkInterfaces",
  "DescribeSecurityGroups",
  "DescribeSnapshots",
  "DescribeSpotInstanceRequests",
  "DescribeVolumes",
]);
/** Mutating actions (and resource-intensive ones, the same figures): 50 tokens, 5 per second. */
const EC2_MUTATING: BucketSpec = { capacity: 50, refillPerSecond: 5 };
/** "Uncategorized actions" with their own figures: those we call, and their neighbours. */
const EC2_UNCATEGORIZED: Readonly<Record<string, BucketSpec>> = {
  CreateLaunchTemplateVersion: { capacity: 100, refillPerSecond: 5 },
  ModifyLaunchTemplate: { capacity: 100, refillPerSecond: 5 },
  CopyImage: { capacity: 100, refillPerSecond: 1 },
  CreateTags: { capacity: 100, refillPerSecond: 10 },
  DeleteTags: { capacity: 100, refillPerSecond: 10 },
  DeregisterImage: { capacity: 100, refillPerSecond: 5 },
  ModifyImageAttribute: { capacity: 100, refillPerSecond: 5 },
  ModifySnapshotAttribute: { capacity: 100, refillPerSecond: 5 },
  RunInstances: { capacity: 5, refillPerSecond: 2 },
  TerminateInstances: { capacity: 100, refillPerSecond: 5 },
};
/**
 * "If you exceed an API throttling limit, you get the RequestLimitExceeded error code" (same
 * page); the EC2 API reference lists it among the server error codes (errors-overview), hence 503.
 */
const EC2_THROTTLED: AwsErrorShape = {
  name: "RequestLimitExceeded",
  message: "Request limit exceeded.",
  httpStatusCode: 503,
  throttling: true,
};

const isPaginatedOrFiltered = (input: Record<string, unknown>) =>
  input.MaxResults !== undefined ||
  input.NextToken !== undefined ||
  (Array.isArray(input.Filters) && input.Filters.length > 0);

const ec2Quota = (call: CallContext): Quota => {
  const own = EC2_UNCATEGORIZED[call.operation];
  if (own) return { bucket: call.operation, spec: own, error: EC2_THROTTLED };
  if (!/^(Describe|List|Search|Get)/.test(call.operation))
    return { bucket: call.operation, spec: EC2_MUTATING, error: EC2_THROTTLED };
  if (EC2_UNFILTERED_ACTIONS.has(call.operation) && !isPaginatedOrFiltered(call.input))
    return { bucket: `${call.operation} (unfiltered)`, spec: EC2_UNFILTERED, error: EC2_THROTTLED };
  return { bucket: call.operation, spec: EC2_NON_MUTATING, error: EC2_THROTTLED };
};

// --- KMS --------------------------------------------------------------------------------------
// KMS developer guide, "Request quotas",
// https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html: quotas in
// requests per second, per account and Region; "Each request quota is calculated
// independently" (CreateGrant and DescribeKey do NOT share one), except that cryptographic
// operations share one per key type. "For cross-account requests, AWS KMS throttles the account
// that makes the requests, not the account that owns the KMS key": the caller's account here.
// The guide gives no burst: a bucket holds one second's worth.
const perSecond = (rate: number): BucketSpec => ({ capacity: rate, refillPerSecond: rate });
const KMS_OPERATIONS: Readonly<Record<string, number>> = {
  CreateGrant: 50,
  DescribeKey: 2000,
  ListGrants: 100,
  ListRetirableGrants: 100,
  RetireGrant: 50,
  RevokeGrant: 50,
  GetKeyPolicy: 1000,
  PutKeyPolicy: 15,
  ListAliases: 500,
  ListKeys: 500,
  ListResourceTags: 2000,
  CreateKey: 5,
  CreateAlias: 5,
  ScheduleKeyDeletion: 15,
  TagResource: 10,
};
/** "Cryptographic operations (symmetric) request rate": shared, and sized by Region. */
const KMS_SYMMETRIC_CRYPTO = new Set([
  "Decrypt",
  "Encrypt",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "GenerateMac",
  "GenerateRandom",
  "ReEncrypt",
  "VerifyMac",
]);
const KMS_SYMMETRIC_CRYPTO_BY_REGION: Readonly<Record<string, number>> = {
  "us-east-1": 100_000,
  "us-west-2": 100_000,
  "eu-west-1": 100_000,
  "us-east-2": 20_000,
  "ap-southeast-1": 20_000,
  "ap-southeast-2": 20_000,
  "ap-northeast-1": 20_000,
  "eu-central-1": 20_000,
  "eu-west-2": 20_000,
};
/** "…Status Code: 400; Error Code: ThrottlingException" (same guide, throttling). */
const KMS_THROTTLED: AwsErrorShape = {
  name: "ThrottlingException",
  message:
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
  httpStatusCode: 400,
  throttling: true,
};

const kmsQuota = (call: CallContext): Quota | undefined => {
  if (KMS_SYMMETRIC_CRYPTO.has(call.operation)) {
    const rate = KMS_SYMMETRIC_CRYPTO_BY_REGION[call.region] ?? 10_000;
    return {
      bucket: "cryptographic operations (symmetric)",
      spec: perSecond(rate),
      error: KMS_THROTTLED,
    };
  }
  const rate = KMS_OPERATIONS[call.operation];
  return rate === undefined
    ? undefined
    : { bucket: call.operation, spec: perSecond(rate), error: KMS_THROTTLED };
};

// --- Auto Scaling -----------------------------------------------------------------------------
// "Amazon EC2 Auto Scaling uses the token bucket algorithm… throttles API requests based on a
// shared API bucket. For example, calls to the DescribeAutoScalingGroups and
// DescribeScheduledActions API operations use tokens from the same bucket" (Auto Scaling API
// reference, Welcome, "API request rate",
// https://docs.aws.amazon.com/autoscaling/ec2/APIReference/Welcome.html), per account and
// Region (re:Post knowledge center, autoscaling-api-calls-throttled: "Rate Exceeded").
// AWS publishes no bucket size or refill rate for it: we assume EC2's mutating-action figures
// (50 tokens, 5 per second), the lowest of EC2's general classes, so what passes here should
// pass in AWS. The error is the query protocol's `Throttling`, "Rate exceeded".
const AUTO_SCALING_ASSUMED: BucketSpec = { capacity: 50, refillPerSecond: 5 };
const RATE_EXCEEDED: AwsErrorShape = {
  name: "Throttling",
  message: "Rate exceeded",
  httpStatusCode: 400,
  throttling: true,
};

// --- STS --------------------------------------------------------------------------------------
// "the default request quota is 600 requests per second, per account, per Region", shared by
// AssumeRole, DecodeAuthorizationMessage, GetAccessKeyInfo, GetCallerIdentity,
// GetFederationToken and GetSessionToken; "For cross-account AssumeRole requests, only the
// account making the AssumeRole request impacts the STS quota" (IAM user guide, "IAM and AWS STS
// quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
// Answered "Throttling: Rate exceeded, status code: 400" (re:Post knowledge center,
// iam-sts-throttling-error).
const STS_SHARED = new Set([
  "AssumeRole",
  "DecodeAuthorizationMessage",
  "GetAccessKeyInfo",
  "GetCallerIdentity",
  "GetFederationToken",
  "GetSessionToken",
]);

// Not modelled: IAM (a global service; AWS publishes no request rate for it, re:Post
// iam-sts-throttling-error only says its limits cannot be raised); Image Builder, SQS, SNS, SSM,
// EventBridge and CloudWatch Logs (not on a per-target path). DynamoDB is a real local server
// (dynalite), which does not throttle: its per-partition limits (3,000 read and 1,000 write units
// per second) are measured by the bench as items read per key, not enforced here.
const quotaOf = (call: CallContext): Quota | undefined => {
  switch (call.service) {
    case "ec2":
      return ec2Quota(call);
    case "kms":
      return kmsQuota(call);
    case "autoscaling":
      return { bucket: "all actions", spec: AUTO_SCALING_ASSUMED, error: RATE_EXCEEDED };
    case "sts":
      return STS_SHARED.has(call.operation)
        ? { bucket: "shared", spec: perSecond(600), error: RATE_EXCEEDED }
        : undefined;
    default:
      return undefined;
  }
};

/**
 * AWS's documented request-rate limits, per (service, caller account, Region, bucket): a call
 * finding its bucket empty is refused with the error AWS answers, which the SDK retries as
 * throttling. `now` is the time the buckets refill by.
 */
export class RequestThrottle {
  readonly #buckets = new Map<string, TokenBucket>();
  /** Requests refused, in total and per bucket (`service|account|region|bucket`). */
  throttled = 0;
  readonly throttledByBucket = new Map<string, number>();

  constructor(readonly now: () => number) {}

  /** Takes a token for `call`, or throws the throttling error its service answers. */
  admit(call: CallContext): void {
    const quota = quotaOf(call);
    if (!quota) return;
    const key = `${call.service}|${call.accountId}|${call.region}|${quota.bucket}`;
    const now = this.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(quota.spec, now);
      this.#buckets.set(key, bucket);
    }
    if (bucket.take(now)) return;
    this.throttled += 1;
    this.throttledByBucket.set(key, (this.throttledByBucket.get(key) ?? 0) + 1);
    throw new SandboxAwsError(quota.error);
  }
}
