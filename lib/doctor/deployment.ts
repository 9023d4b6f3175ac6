/**
 * Where the orchestrator itself is deployed, for the doctor's checks of its own side: its
 * functions are `<service>-<stage>-<function>` (serverless.yml), in one account and region.
 */

/** Where the orchestrator is deployed, as watch-rollouts' environment says (serverless.yml). */
export interface OrchestratorDeployment {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly service: string;
  readonly stage: string;
  /** The default bus target regions forward to. */
  readonly busArn: string;
  functionArn(fn: string): string;
}

/**
 * From `ORCHESTRATOR_FUNCTION_ARN_PREFIX` (`arn:<partition>:lambda:<region>:<account>:function:
 * <service>-<stage>-`) and `ORCHESTRATOR_STAGE`: the rules target function ARNs, so a name alone
 * (AWS_LAMBDA_FUNCTION_NAME) would not do, and the stage is needed apart from the service for
 * the target template's OrchestratorStage parameter.
 */
export const orchestratorDeployment = (
  functionArnPrefix: string,
  stage: string,
): OrchestratorDeployment => {
  const match = /^arn:([\w-]+):lambda:([\w-]+):(\d{12}):function:(.+)-$/.exec(functionArnPrefix);
  const name = match?.[4] ?? "";
  if (!match || !name.endsWith(`-${stage}`))
    throw new Error(
      `ORCHESTRATOR_FUNCTION_ARN_PREFIX ${functionArnPrefix} is not arn:<partition>:lambda:<region>:<account>:function:<service>-${stage}-`,
    );
  const [, partition = "aws", region = "", accountId = ""] = match;
  return {
    partition,
    region,
    accountId,
    service: name.slice(0, -`-${stage}`.length),
    stage,
    busArn: `arn:${partition}:events:${region}:${accountId}:event-bus/default`,
    functionArn: (fn) => `${functionArnPrefix}${fn}`,
  };
};
