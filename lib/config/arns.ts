const PIPELINE_ARN =
  /^arn:aws(?:-cn|-us-gov)?:imagebuilder:([a-z]{2}(?:-gov)?-[a-z]+-\d+):(\d{12}):image-pipeline\/([a-z0-9][a-z0-9_-]{0,127})$/;

export const isPipelineArn = (arn: string): boolean => PIPELINE_ARN.test(arn);

export const parsePipelineArn = (arn: string) => {
  const match = PIPELINE_ARN.exec(arn);
  if (!match) return undefined;
  return {
    region: match[1] as string,
    accountId: match[2] as string,
    resourceName: match[3] as string,
  };
};
