import { arnParts } from "../aws/arns.ts";

/** AWS console links for an alert's buttons (the console is per partition and region). */
const consoleHost = (partition: string) =>
  partition === "aws-cn"
    ? "console.amazonaws.cn"
    : partition === "aws-us-gov"
      ? "console.amazonaws-us-gov.com"
      : "console.aws.amazon.com";

export const imageConsoleUrl = (imageArn: string): string => {
  const { partition, region } = arnParts(imageArn);
  return `https://${region}.${consoleHost(partition)}/imagebuilder/home?region=${region}#/images/${encodeURIComponent(imageArn)}/details`;
};

export const pipelineConsoleUrl = (pipelineArn: string): string => {
  const { partition, region } = arnParts(pipelineArn);
  return `https://${region}.${consoleHost(partition)}/imagebuilder/home?region=${region}#/pipelines/${encodeURIComponent(pipelineArn)}`;
};

/** CloudWatch's console wants `$` escaped as `$25` inside its fragment. */
const cloudWatchEscape = (value: string) => encodeURIComponent(value).replace(/%/g, "$25");

export const logStreamConsoleUrl = (region: string, group: string, stream: string): string =>
  `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${cloudWatchEscape(group)}/log-events/${cloudWatchEscape(stream)}`;

export const queueConsoleUrl = (queueUrl: string): string => {
  const region = /sqs\.([a-z0-9-]+)\./.exec(queueUrl)?.[1] ?? "us-east-1";
  return `https://${region}.console.aws.amazon.com/sqs/v3/home?region=${region}#/queues/${encodeURIComponent(queueUrl)}`;
};
