import {
  GetImageCommand,
  GetImageRecipeCommand,
  type ImagebuilderClient,
  type ImageRecipe,
  type ImageSummary,
  ListImagePipelineImagesCommand,
} from "@aws-sdk/client-imagebuilder";
import { newerFirst } from "../pipelines/build.ts";
import type { ComponentChange, ComponentChanges } from "./types.ts";

/**
 * What changed in a failed image's recipe since the pipeline's last AVAILABLE image: each
 * component whose version or build differs, or that was added or taken out. A recipe names its
 * components by ARN (API model `ComponentConfiguration.componentArn`:
 * `arn:…:component/<name>/<version>[/<build>]`), so a component is its ARN without the version,
 * and what changed is the version and build after it.
 *
 * Calls: ListImagePipelineImages (the pipeline's images, "Returns a list of images created by the
 * specified pipeline": its filters are name and version only, so AVAILABLE ones are picked here),
 * GetImage of the last AVAILABLE one (`Image.imageRecipe`: "the image recipe that Image Builder
 * used to create the image"), and GetImageRecipe when an image names its recipe without its
 * components.
 */

type Signal = { abortSignal: AbortSignal };

/** Pages read at most (25 images each): a pipeline's last good image is among its recent ones. */
export const MAX_IMAGE_PAGES = 20;

const componentKey = (arn: string): { name: string; version: string } => {
  const [head = arn, ...rest] = arn.split(":component/");
  const [name = "", ...version] = (rest.join(":component/") || "").split("/");
  return { name: `${head.split(":")[4] ?? ""}/${name}`, version: version.join("/") };
};

/** `<owner>/<name>` → `<version>/<build>` of each component of a recipe, in order. */
const componentsOf = (recipe: ImageRecipe): Map<string, string> =>
  new Map(
    (recipe.components ?? []).flatMap((component) => {
      if (!component.componentArn) return [];
      const { name, version } = componentKey(component.componentArn);
      return [[name, version] as const];
    }),
  );

/** The recipe's components, from the image's recipe or, when it lists none, GetImageRecipe. */
export const recipeWithComponents = async (
  client: ImagebuilderClient,
  recipe: ImageRecipe | undefined,
  signal: Signal,
): Promise<ImageRecipe | undefined> => {
  if (recipe?.components?.length || !recipe?.arn) return recipe;
  const answer = await client.send(
    new GetImageRecipeCommand({ imageRecipeArn: recipe.arn }),
    signal,
  );
  return answer?.imageRecipe ?? recipe;
};

/** The pipeline's most recent AVAILABLE image other than `except`, newest first by date. */
const lastAvailable = async (
  client: ImagebuilderClient,
  pipelineArn: string,
  except: string,
  signal: Signal,
): Promise<ImageSummary | undefined> => {
  const available: ImageSummary[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_IMAGE_PAGES; page += 1) {
    const answer = await client.send(
      new ListImagePipelineImagesCommand({
        imagePipelineArn: pipelineArn,
        ...(nextToken ? { nextToken } : {}),
      }),
      signal,
    );
    available.push(
      ...(answer?.imageSummaryList ?? []).filter(
        (image) => image.state?.status === "AVAILABLE" && image.arn !== except,
      ),
    );
    nextToken = answer?.nextToken;
    if (!nextToken) break;
  }
  return available.sort(newerFirst)[0];
};

export const compareRecipes = (before: ImageRecipe, after: ImageRecipe): ComponentChange[] => {
  const old = componentsOf(before);
  const now = componentsOf(after);
  const changes: ComponentChange[] = [];
  for (const [name, version] of now) {
    const previous = old.get(name);
    const shown = name.split("/").slice(1).join("/");
    if (previous === undefined) changes.push({ component: shown, to: version });
    else if (previous !== version) changes.push({ component: shown, from: previous, to: version });
  }
  for (const [name, version] of old)
    if (!now.has(name))
      changes.push({ component: name.split("/").slice(1).join("/"), from: version });
  return changes;
};

/**
 * The components that changed since the last AVAILABLE image of the pipeline; undefined when the
 * failed image's recipe is not known (an image that is not an AMI, or GetImage failed).
 */
export const changedComponents = async (
  client: ImagebuilderClient,
  failed: {
    readonly imageArn: string;
    readonly pipelineArn: string;
    readonly recipe?: ImageRecipe;
  },
  signal: Signal,
): Promise<ComponentChanges | undefined> => {
  const recipe = await recipeWithComponents(client, failed.recipe, signal);
  if (!recipe?.components?.length) return undefined;
  const last = await lastAvailable(client, failed.pipelineArn, failed.imageArn, signal);
  if (!last?.arn) return { components: [] };
  const { image } = await client.send(
    new GetImageCommand({ imageBuildVersionArn: last.arn }),
    signal,
  );
  const before = await recipeWithComponents(client, image?.imageRecipe, signal);
  if (!before?.components?.length) return { since: last.arn, components: [], recipeUnknown: true };
  return { since: last.arn, components: compareRecipes(before, recipe) };
};
