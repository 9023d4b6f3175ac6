import {
  GetImagePipelineCommand,
  type ImagebuilderClient,
  type ImageSummary,
  paginateListImagePipelineImages,
  StartImagePipelineExecutionCommand,
} from "@aws-sdk/client-imagebuilder";
import { errorMessage, errorName } from "../errors.ts";
import type { BuildContext } from "./git.ts";
import { sha256, shortHash } from "./hash.ts";
import { TAG } from "./names.ts";

/**
 * `npm run pipelines -- build --changed`: start the managed pipelines whose inputs changed since
 * their last image, each once per commit. The hash a build was made from is a tag on its image
 * (StartImagePipelineExecution `tags`, API model: "tags for Image Builder to apply to the image
 * resource"), with the commit, ref and repository; the image then rolls out like any other.
 */

export interface BuildTarget {
  readonly name: string;
  readonly arn: string;
  /** The definitions' input hash (synth.ts pipelineInputHash). */
  readonly inputHash: string;
}

export type BuildOutcome =
  | { readonly outcome: "started"; readonly imageArn: string; readonly clientToken: string }
  | { readonly outcome: "unchanged"; readonly lastImage: string }
  | { readonly outcome: "not-deployed"; readonly reason: string }
  | { readonly outcome: "failed"; readonly reason: string };

export type BuildResult = BuildOutcome & { readonly pipeline: string; readonly inputHash: string };

/** API model `TagValue`: at most 256 characters. */
const tagValue = (value: string): string => value.slice(0, 256);

/**
 * `clientToken` (API model `ClientToken`: 1-64 characters, an idempotency token): the commit and
 * the input hash, so the same job run again asks for the same build and Image Builder starts
 * nothing new. Without a commit, the hash alone.
 */
export const buildClientToken = (inputHash: string, commit?: string): string =>
  commit
    ? `${commit.slice(0, 12)}-${shortHash(inputHash)}`
    : `nocommit-${shortHash(sha256(inputHash))}`;

const imageTime = (image: ImageSummary): number => {
  const parsed = Date.parse(String(image.dateCreated ?? ""));
  return Number.isNaN(parsed) ? 0 : parsed;
};

/** `1.0.3/2` → [1, 0, 3, 2], to order images the dates cannot tell apart. */
const versionKey = (image: ImageSummary): number[] =>
  (image.version ?? "").split(/[./]/).map((node) => Number(node) || 0);

/** Newest image first: by creation date, then by version and build. */
export const newerFirst = (a: ImageSummary, b: ImageSummary): number => {
  const byTime = imageTime(b) - imageTime(a);
  if (byTime !== 0) return byTime;
  const [left, right] = [versionKey(a), versionKey(b)];
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (right[index] ?? 0) - (left[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
};

/** The pipeline's most recent image, whatever its state (ListImagePipelineImages, all pages). */
export const lastImageOf = async (
  client: ImagebuilderClient,
  pipelineArn: string,
): Promise<ImageSummary | undefined> => {
  const images: ImageSummary[] = [];
  for await (const page of paginateListImagePipelineImages(
    { client },
    { imagePipelineArn: pipelineArn },
  )) {
    images.push(...(page.imageSummaryList ?? []));
  }
  return images.sort(newerFirst)[0];
};

export interface BuildDecision {
  readonly start: boolean;
  readonly reason: string;
  readonly lastImage?: string;
}

/**
 * Whether the inputs changed since the last image: its recorded hash differs (or it has none,
 * or there is no image yet). A failed last build with the same hash starts nothing: the same
 * inputs would fail the same way; a new commit that changes them does start one.
 */
export const decideBuild = (last: ImageSummary | undefined, inputHash: string): BuildDecision => {
  if (last === undefined) return { start: true, reason: "no image yet" };
  const recorded = last.tags?.[TAG.inputHash];
  const lastImage = last.arn ?? "(unnamed image)";
  if (recorded === inputHash) {
    return {
      start: false,
      reason: `unchanged since ${lastImage} (${last.state?.status ?? "state unknown"})`,
      lastImage,
    };
  }
  return {
    start: true,
    reason: recorded
      ? `inputs changed since ${lastImage} (input ${shortHash(recorded)} → ${shortHash(inputHash)})`
      : `${lastImage} records no input hash`,
    lastImage,
  };
};

/** The input hash the deployed pipeline carries (its stack tags), if it exists. */
const deployedHash = async (
  client: ImagebuilderClient,
  arn: string,
): Promise<{ hash?: string; missing?: true }> => {
  try {
    const { imagePipeline } = await client.send(
      new GetImagePipelineCommand({ imagePipelineArn: arn }),
    );
    const hash = imagePipeline?.tags?.[TAG.inputHash];
    return hash === undefined ? {} : { hash };
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") return { missing: true };
    throw error;
  }
};

const buildOne = async (
  client: ImagebuilderClient,
  target: BuildTarget,
  context: BuildContext,
): Promise<BuildOutcome> => {
  // Starting a pipeline that does not run these inputs yet would tag an image with a hash it
  // was not built from.
  const deployed = await deployedHash(client, target.arn);
  if (deployed.missing) {
    return {
      outcome: "not-deployed",
      reason: `${target.arn} does not exist: deploy the stack first`,
    };
  }
  if (deployed.hash !== target.inputHash) {
    return {
      outcome: "not-deployed",
      reason: `the deployed pipeline runs input ${deployed.hash ? shortHash(deployed.hash) : "(none)"}, the definitions say ${shortHash(target.inputHash)}: deploy first`,
    };
  }
  const decision = decideBuild(await lastImageOf(client, target.arn), target.inputHash);
  if (!decision.start) return { outcome: "unchanged", lastImage: decision.lastImage ?? "" };
  const clientToken = buildClientToken(target.inputHash, context.commit);
  const tags: Record<string, string> = { [TAG.inputHash]: target.inputHash };
  if (context.commit) tags[TAG.commit] = tagValue(context.commit);
  if (context.ref) tags[TAG.ref] = tagValue(context.ref);
  if (context.repository) tags[TAG.repository] = tagValue(context.repository);
  const started = await client.send(
    new StartImagePipelineExecutionCommand({
      imagePipelineArn: target.arn,
      clientToken,
      tags,
    }),
  );
  return { outcome: "started", imageArn: started.imageBuildVersionArn ?? "", clientToken };
};

/** Starts each changed pipeline; one failure does not stop the others. */
export const startChangedBuilds = async (
  client: ImagebuilderClient,
  targets: readonly BuildTarget[],
  context: BuildContext,
): Promise<BuildResult[]> => {
  const results: BuildResult[] = [];
  for (const target of targets) {
    let outcome: BuildOutcome;
    try {
      outcome = await buildOne(client, target, context);
    } catch (error) {
      outcome = { outcome: "failed", reason: errorMessage(error) };
    }
    results.push({ pipeline: target.name, inputHash: target.inputHash, ...outcome });
  }
  return results;
};

export const renderBuildResult = (result: BuildResult): string => {
  switch (result.outcome) {
    case "started":
      return `${result.pipeline}: build started ${result.imageArn} (client token ${result.clientToken})`;
    case "unchanged":
      return `${result.pipeline}: nothing to build, unchanged since ${result.lastImage}`;
    case "not-deployed":
      return `${result.pipeline}: not started, ${result.reason}`;
    case "failed":
      return `${result.pipeline}: FAILED to start, ${result.reason}`;
  }
};
