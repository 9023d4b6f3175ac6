import { SandboxAwsError } from "../model/errors.ts";

/** How each service spells a refusal: its error's name (and code) and HTTP status. */
export interface Spelling {
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
  cloudformation: { name: "AccessDenied", status: 403 },
  iam: { name: "AccessDenied", status: 403 },
  autoscaling: { name: "AccessDenied", status: 403 },
  sqs: { name: "AccessDenied", status: 403 },
  sns: { name: "AuthorizationErrorException", code: "AuthorizationError", status: 403 },
  ec2: { name: "UnauthorizedOperation", status: 403 },
  imagebuilder: { name: "AccessDeniedException", status: 403 },
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
  cloudformation: { name: "ExpiredToken", status: 403 },
  iam: { name: "ExpiredToken", status: 403 },
  autoscaling: { name: "ExpiredToken", status: 403 },
  sqs: { name: "ExpiredToken", status: 403 },
  sns: { name: "ExpiredToken", status: 403 },
  ec2: { name: "RequestExpired", status: 400 },
  imagebuilder: { name: "ExpiredTokenException", status: 403 },
};
const EXPIRED_JSON: Spelling = { name: "ExpiredTokenException", status: 400 };

/**
 * An access key AWS does not know: `InvalidClientTokenId` (query services' "Common Errors"),
 * EC2's `AuthFailure`, JSON services' `UnrecognizedClientException`.
 */
const INVALID_KEY: Record<string, Spelling> = {
  sts: { name: "InvalidClientTokenId", status: 403 },
  cloudformation: { name: "InvalidClientTokenId", status: 403 },
  iam: { name: "InvalidClientTokenId", status: 403 },
  autoscaling: { name: "InvalidClientTokenId", status: 403 },
  sqs: { name: "InvalidClientTokenId", status: 403 },
  sns: { name: "InvalidClientTokenId", status: 403 },
  ec2: { name: "AuthFailure", status: 401 },
};
const INVALID_KEY_JSON: Spelling = { name: "UnrecognizedClientException", status: 400 };

/** The service's access-denied spelling (a JSON service's when it is not listed). */
export const accessDenied = (service: string): Spelling => DENIED[service] ?? DENIED_JSON;

/** The service's expired-credentials spelling. */
export const expiredToken = (service: string): Spelling => EXPIRED[service] ?? EXPIRED_JSON;

/** The service's unknown-access-key spelling. */
export const invalidClientToken = (service: string): Spelling =>
  INVALID_KEY[service] ?? INVALID_KEY_JSON;

/** The error the service answers, as the SDK receives it. */
export const refusal = (spelling: Spelling, message: string): SandboxAwsError => {
  const error = new SandboxAwsError({
    name: spelling.name,
    message,
    httpStatusCode: spelling.status,
  });
  if (spelling.code) Object.assign(error, { Code: spelling.code });
  return error;
};
