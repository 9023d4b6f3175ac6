import type { ImageBuilderCall } from "./provisioners.ts";
import type { Stack, ValidationFailure } from "./stack.ts";

/**
 * CloudFormation's pre-deployment validation beyond property syntax: "resource name conflict
 * detection with existing resources" (user guide, "Validate stack deployments"), which fails the
 * change set with "Resource of type '<type>' with identifier '<name>' already exists." (the event
 * aws/aws-cdk-cli #1000 and rain #744 show). For Image Builder, the resources named by their Name
 * alone: pipelines and configurations (components and recipes are versioned). It reads as the
 * caller: a resource the caller cannot read is not reported.
 */

const CHECKS: Record<string, { operation: string; member: string; kind: string }> = {
  "AWS::ImageBuilder::ImagePipeline": {
    operation: "GetImagePipeline",
    member: "imagePipelineArn",
    kind: "image-pipeline",
  },
  "AWS::ImageBuilder::InfrastructureConfiguration": {
    operation: "GetInfrastructureConfiguration",
    member: "infrastructureConfigurationArn",
    kind: "infrastructure-configuration",
  },
  "AWS::ImageBuilder::DistributionConfiguration": {
    operation: "GetDistributionConfiguration",
    member: "distributionConfigurationArn",
    kind: "distribution-configuration",
  },
};

export const nameConflicts = async (
  stack: Stack,
  adds: ReadonlyArray<{ logicalId: string; type: string; name: string }>,
  read: ImageBuilderCall,
): Promise<ValidationFailure[]> => {
  const failures: ValidationFailure[] = [];
  for (const add of adds) {
    const check = CHECKS[add.type];
    if (!check) continue;
    const arn = `arn:aws:imagebuilder:${stack.region}:${stack.accountId}:${check.kind}/${add.name.toLowerCase().replace(/ /g, "-")}`;
    if ([...stack.resources.values()].some((resource) => resource.physicalId === arn)) continue;
    try {
      await read(check.operation, { [check.member]: arn });
    } catch {
      continue; // absent, or not readable by the caller: nothing to report
    }
    failures.push({
      logicalId: add.logicalId,
      type: add.type,
      path: `/Resources/${add.logicalId}`,
      reason: `Resource of type '${add.type}' with identifier '${add.name}' already exists.`,
      validation: "NAME_CONFLICT_VALIDATION",
    });
  }
  return failures;
};

/**
 * The change set's status reason when validation failed, as CloudFormation words it ("The
 * following hook(s)/validation failed: [AWS::EarlyValidation::ResourceExistenceCheck]. To
 * troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure
 * information.", aws/aws-cdk-cli #1000); the property check's name is the sandbox's reading.
 */
export const earlyValidationReason = (
  failures: readonly ValidationFailure[],
): string | undefined => {
  const hooks = [
    ...(failures.some((failure) => !failure.validation)
      ? ["AWS::EarlyValidation::PropertyValidation"]
      : []),
    ...(failures.some((failure) => failure.validation === "NAME_CONFLICT_VALIDATION")
      ? ["AWS::EarlyValidation::ResourceExistenceCheck"]
      : []),
  ];
  return hooks.length > 0
    ? `The following hook(s)/validation failed: [${hooks.join(", ")}]. To troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure information.`
    : undefined;
};
