import * as autoScaling from "@aws-sdk/client-auto-scaling";
import * as cloudformation from "@aws-sdk/client-cloudformation";
import * as logs from "@aws-sdk/client-cloudwatch-logs";
import * as dynamodb from "@aws-sdk/client-dynamodb";
import * as ec2 from "@aws-sdk/client-ec2";
import * as eventbridge from "@aws-sdk/client-eventbridge";
import * as iam from "@aws-sdk/client-iam";
import * as imagebuilder from "@aws-sdk/client-imagebuilder";
import * as kms from "@aws-sdk/client-kms";
import * as scheduler from "@aws-sdk/client-scheduler";
import * as sns from "@aws-sdk/client-sns";
import * as sqs from "@aws-sdk/client-sqs";
import * as ssm from "@aws-sdk/client-ssm";
import * as sts from "@aws-sdk/client-sts";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { FinalizeHandlerArguments, HandlerExecutionContext } from "@smithy/types";
import { accountOfAccessKeyId, sandboxAccessKeyId } from "./identity.ts";
import { afterStep, beforeStep, currentFunctionName } from "./invocation.ts";
import type { SandboxWorld } from "./model/world.ts";

/** SDK clients the sandbox intercepts, with the service name the model uses. */
const SDK_CLIENTS = [
  { service: "imagebuilder", client: imagebuilder.ImagebuilderClient },
  { service: "autoscaling", client: autoScaling.AutoScalingClient },
  { service: "ec2", client: ec2.EC2Client },
  { service: "iam", client: iam.IAMClient },
  { service: "kms", client: kms.KMSClient },
  { service: "sns", client: sns.SNSClient },
  { service: "sqs", client: sqs.SQSClient },
  { service: "ssm", client: ssm.SSMClient },
  { service: "logs", client: logs.CloudWatchLogsClient },
  { service: "sts", client: sts.STSClient },
  { service: "scheduler", client: scheduler.SchedulerClient },
  { service: "events", client: eventbridge.EventBridgeClient },
  { service: "cloudformation", client: cloudformation.CloudFormationClient },
];

interface ResolvedClientConfig {
  region: () => Promise<string>;
  credentials: (() => Promise<{ accessKeyId: string }>) | { accessKeyId: string };
}

const identityOf = async (client: unknown, world: SandboxWorld) => {
  const config = (client as { config: ResolvedClientConfig }).config;
  const region = await config.region();
  const credentials =
    typeof config.credentials === "function" ? await config.credentials() : config.credentials;
  const accountId = accountOfAccessKeyId(credentials.accessKeyId) ?? world.orchestratorAccountId;
  // Which function signs the call (the role IAM checks it against), if any.
  const functionName = currentFunctionName();
  return {
    region,
    accountId,
    accessKeyId: credentials.accessKeyId,
    ...(functionName ? { functionName } : {}),
  };
};

export interface InstalledSandbox {
  restore(): void;
}

type Send = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/**
 * Routes every command of every intercepted SDK client to the world model and gives the process
 * credentials for the orchestrator account. The model is installed as the innermost middleware
 * of each client, where the HTTP request would be sent: everything above it runs for real
 * (credential providers and AssumeRole, endpoint resolution, signing, paginators, waiters, and
 * the SDK's retry strategy, so an injected throttling error is retried by the SDK as in AWS).
 * The real handlers run unchanged and never know.
 */
export const installSandbox = (world: SandboxWorld): InstalledSandbox => {
  const previousEnv = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = sandboxAccessKeyId(world.orchestratorAccountId);
  process.env.AWS_SECRET_ACCESS_KEY = "sandbox-secret";
  process.env.AWS_SESSION_TOKEN = "sandbox-session";
  process.env.AWS_REGION = world.orchestratorRegion;
  // The sandbox runs on the Node 20 of the dev machine; Lambda runs 22.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

  // Handlers take the system clock; in the sandbox it follows the simulated one. Real elapsed
  // time is added so it still moves during an invocation: the SDK's adaptive retry measures
  // time with it, and would stall if time stood still.
  const realNow = Date.now;
  const realStart = realNow();
  Date.now = () => world.clock.now() + (realNow() - realStart);

  const wired = new WeakSet<object>();
  const patched: Array<{ prototype: { send?: Send } }> = [];
  type Client = { middlewareStack: { add: (...args: unknown[]) => void } };
  type Middleware = (
    next: (request: FinalizeHandlerArguments<object>) => Promise<unknown>,
    context: HandlerExecutionContext,
  ) => (request: FinalizeHandlerArguments<object>) => Promise<unknown>;
  /**
   * Adds `middleware` (where the HTTP request would be sent) to every client of this class, once
   * per middleware stack: a document client shares its DynamoDB client's stack.
   */
  const intercept = (clientClass: unknown, middleware: (client: Client) => Middleware) => {
    const prototype = (clientClass as { prototype: { send: Send } }).prototype;
    const originalSend = prototype.send;
    Object.defineProperty(prototype, "send", {
      configurable: true,
      writable: true,
      value: function send(this: Client, ...args: unknown[]) {
        if (!wired.has(this.middlewareStack)) {
          wired.add(this.middlewareStack);
          this.middlewareStack.add(middleware(this), {
            step: "deserialize",
            priority: "high",
            name: "sandbox",
          });
        }
        return originalSend.apply(this, args);
      },
    });
    patched.push({ prototype });
  };
  const operationOf = (context: HandlerExecutionContext) =>
    String((context as { commandName?: string }).commandName ?? "").replace(/Command$/, "");

  for (const { service, client } of SDK_CLIENTS) {
    intercept(client, (self) => (_next, context) => async (request) => {
      const blocked = beforeStep();
      if (blocked) return blocked;
      const output = await world.call({
        service,
        operation: operationOf(context),
        input: request.input as Record<string, unknown>,
        ...(await identityOf(self, world)),
      });
      const died = afterStep();
      if (died) return died;
      return {
        response: { statusCode: 200, headers: {} },
        output: {
          ...(output as object),
          $metadata: { httpStatusCode: 200, requestId: "sandbox", attempts: 1 },
        },
      };
    });
  }

  // DynamoDB is a real local server (dynalite): its calls go through unchanged once IAM allowed
  // them, and are counted as steps of the invocation that makes them (crash tests).
  for (const client of [dynamodb.DynamoDBClient, DynamoDBDocumentClient]) {
    intercept(client, (self) => (next, context) => async (request) => {
      const blocked = beforeStep();
      if (blocked) return blocked;
      await world.authorizer?.authorize({
        service: "dynamodb",
        operation: operationOf(context),
        input: request.input as Record<string, unknown>,
        ...(await identityOf(self, world)),
      });
      const output = await next(request);
      return afterStep() ?? output;
    });
  }

  return {
    restore() {
      Date.now = realNow;
      for (const { prototype } of patched) delete prototype.send;
      for (const key of Object.keys(process.env))
        if (!(key in previousEnv)) delete process.env[key];
      Object.assign(process.env, previousEnv);
    },
  };
};
