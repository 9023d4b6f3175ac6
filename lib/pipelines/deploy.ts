import {
  type CloudFormationClient,
  DescribeStackEventsCommand,
  ExecuteChangeSetCommand,
  waitUntilStackCreateComplete,
  waitUntilStackUpdateComplete,
} from "@aws-sdk/client-cloudformation";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  ChangeSetError,
  type CreatedChangeSet,
  createChangeSet,
  MAX_TEMPLATE_BODY_BYTES,
  type WaiterOptions,
} from "./change-set.ts";
import { sha256 } from "./hash.ts";
import type { Asset, Synthesized } from "./synth.ts";

/**
 * `npm run pipelines -- deploy`: uploads what the template points at (component documents past
 * the inline limit, and the template itself when too big for a request body), then creates and
 * executes the change set `plan` shows, and waits for the stack. The same as
 * `aws cloudformation deploy`, plus the uploads and one code path shared with plan.
 */

export interface DeployDeps {
  readonly cloudFormation: CloudFormationClient;
  /** Needed when there are assets or the template is too big to send inline. */
  readonly s3?: S3Client;
}

export interface DeployOptions {
  readonly templateBody: string;
  /** Where to put the template past MAX_TEMPLATE_BODY_BYTES: `bucket` or `bucket/prefix`. */
  readonly templateBucket?: string;
  readonly region: string;
  readonly waiter?: WaiterOptions;
}

export interface Deployed {
  readonly changeSet: CreatedChangeSet;
  readonly executed: boolean;
  readonly uploaded: readonly string[];
}

const uploadAll = async (s3: S3Client | undefined, assets: readonly Asset[]): Promise<string[]> => {
  if (assets.length === 0) return [];
  if (!s3)
    throw new ChangeSetError(
      "component documents go to S3 (componentBucket) but no S3 client was given",
    );
  const uploaded: string[] = [];
  for (const asset of assets) {
    // Content-addressed keys: uploading again writes the same bytes.
    await s3.send(
      new PutObjectCommand({
        Bucket: asset.bucket,
        Key: asset.key,
        Body: asset.body,
        ContentType: "application/yaml",
      }),
    );
    uploaded.push(`s3://${asset.bucket}/${asset.key}`);
  }
  return uploaded;
};

/** Uploads a too-big template to S3 and returns its URL. */
const templateUrl = async (
  deps: DeployDeps,
  options: DeployOptions,
): Promise<string | undefined> => {
  if (Buffer.byteLength(options.templateBody, "utf8") <= MAX_TEMPLATE_BODY_BYTES) return undefined;
  if (!options.templateBucket || !deps.s3) return undefined; // createChangeSet says what to do
  const [bucket = "", ...prefix] = options.templateBucket.split("/");
  const key = [...prefix.filter(Boolean), `${sha256(options.templateBody)}.template.json`].join(
    "/",
  );
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: options.templateBody,
      ContentType: "application/json",
    }),
  );
  return `https://${bucket}.s3.${options.region}.amazonaws.com/${key}`;
};

/** The first failed resource events, to say why a deploy failed. */
const failureReasons = async (client: CloudFormationClient, stackName: string): Promise<string> => {
  try {
    const { StackEvents } = await client.send(
      new DescribeStackEventsCommand({ StackName: stackName }),
    );
    const failed = (StackEvents ?? [])
      .filter((event) => event.ResourceStatus?.endsWith("_FAILED") && event.ResourceStatusReason)
      .slice(0, 5)
      .map((event) => `${event.LogicalResourceId}: ${event.ResourceStatusReason}`);
    return failed.length > 0 ? failed.join("; ") : "no failed resource event";
  } catch {
    return "its events could not be read";
  }
};

export const deployStack = async (
  deps: DeployDeps,
  synthesized: Synthesized,
  options: DeployOptions,
): Promise<Deployed> => {
  const uploaded = await uploadAll(deps.s3, synthesized.assets);
  const url = await templateUrl(deps, options);
  const changeSet = await createChangeSet(deps.cloudFormation, {
    stackName: synthesized.stackName,
    templateBody: options.templateBody,
    ...(url ? { templateUrl: url } : {}),
    description: "ami-orchestrator pipelines deploy",
    ...(options.waiter ? { waiter: options.waiter } : {}),
  });
  if (changeSet.noChanges) return { changeSet, executed: false, uploaded };
  await deps.cloudFormation.send(
    new ExecuteChangeSetCommand({
      StackName: changeSet.stackName,
      ChangeSetName: changeSet.changeSetName,
    }),
  );
  const wait =
    changeSet.changeSetType === "CREATE"
      ? waitUntilStackCreateComplete
      : waitUntilStackUpdateComplete;
  try {
    await wait(
      { client: deps.cloudFormation, maxWaitTime: 3600, ...options.waiter },
      { StackName: changeSet.stackName },
    );
  } catch (error) {
    throw new ChangeSetError(
      `${changeSet.stackName} did not deploy: ${await failureReasons(deps.cloudFormation, changeSet.stackName)}`,
      { cause: error },
    );
  }
  return { changeSet, executed: true, uploaded };
};
