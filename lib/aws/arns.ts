/** Parts of an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`), for links, "where" and fixes. */
export const arnParts = (arn: string) => {
  const [, partition = "aws", , region = "", accountId = "", ...rest] = arn.split(":");
  return { partition, region, accountId, resource: rest.join(":") };
};
