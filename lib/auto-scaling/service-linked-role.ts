import {
  CreateServiceLinkedRoleCommand,
  GetRoleCommand,
  type IAMClient,
} from "@aws-sdk/client-iam";

/**
 * Makes sure the default Auto Scaling service-linked role exists. It normally does (AWS creates
 * it with the first group), but a grant to a role that does not exist fails, and a role recreated
 * after granting gets a new id that the old grant does not match.
 * Returns whether the role had to be created.
 */
export const ensureDefaultServiceLinkedRole = async (
  iam: IAMClient,
): Promise<"existed" | "created"> => {
  try {
    await iam.send(new GetRoleCommand({ RoleName: "AWSServiceRoleForAutoScaling" }));
    return "existed";
  } catch (error) {
    if (!(error instanceof Error && error.name === "NoSuchEntityException")) throw error;
  }
  try {
    await iam.send(
      new CreateServiceLinkedRoleCommand({ AWSServiceName: "autoscaling.amazonaws.com" }),
    );
    return "created";
  } catch (error) {
    // Created concurrently by someone else (or AWS): that is the outcome we wanted.
    if (
      error instanceof Error &&
      error.name === "InvalidInputException" &&
      /taken|exists/i.test(error.message)
    ) {
      return "existed";
    }
    throw error;
  }
};
