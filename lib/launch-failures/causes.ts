/**
 * What Auto Scaling's StatusMessage says about a failed launch, recognised by the EC2 error code
 * or message EC2 returned to RunInstances (EC2 API reference, "Error codes"; EC2 Auto Scaling
 * user guide, "Troubleshoot Amazon EC2 Auto Scaling: EC2 instance launch failures" and "AMI
 * issues"). Only the codes below are recognised; anything else is passed through verbatim.
 */
export type RecognisedCause =
  | "client-internal-error"
  | "ami-unavailable"
  | "insufficient-capacity"
  | "instance-quota"
  | "invalid-launch-template"
  | "instance-profile";

interface Rule {
  readonly cause: RecognisedCause;
  readonly pattern: RegExp;
}

const RULES: readonly Rule[] = [
  // A snapshot key the service-linked role cannot use (EC2 Auto Scaling user guide, "Required
  // AWS KMS key policy for use with encrypted volumes").
  { cause: "client-internal-error", pattern: /\bClient\.InternalError\b/ },
  {
    cause: "ami-unavailable",
    pattern:
      /\bInvalidAMIID\.(NotFound|Unavailable|Malformed)\b|The image id '?\[?ami-[0-9a-f]+\]?'? does not exist|AMI .* (is not available|is pending|has been deregistered)/i,
  },
  {
    cause: "insufficient-capacity",
    pattern:
      /\bInsufficientInstanceCapacity\b|do not have sufficient .* capacity|\bUnsupported\b.*instance type|instance type .* is not supported in (your requested )?Availability Zone/i,
  },
  {
    cause: "instance-quota",
    pattern:
      /\bVcpuLimitExceeded\b|\bInstanceLimitExceeded\b|more vCPU capacity than your current vCPU limit|exceeded your maximum instance count/i,
  },
  {
    cause: "invalid-launch-template",
    pattern:
      /\bInvalidLaunchTemplate(Id|Name)\.(NotFound|VersionNotFound|Malformed|NotFoundException)\b|launch template\b.*\bdoes not exist|\bInvalidLaunchTemplate\b/i,
  },
  {
    cause: "instance-profile",
    pattern:
      /Invalid IAM Instance Profile|iamInstanceProfile\.(name|arn) is invalid|instance profile .* (does not exist|not found)/i,
  },
];

/** The first recognised cause in StatusMessage (then Cause), or undefined: never a guess. */
export const recogniseCause = (statusMessage: string, cause: string): RecognisedCause | undefined =>
  RULES.find((rule) => rule.pattern.test(statusMessage))?.cause ??
  RULES.find((rule) => rule.pattern.test(cause))?.cause;
