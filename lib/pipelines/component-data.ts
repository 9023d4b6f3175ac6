import { parse } from "yaml";
import { hashOf } from "./hash.ts";

/**
 * What a local component becomes in the template. Every input CloudFormation replaces a
 * component on (its resource schema's createOnlyProperties) is hashed, and the hash is written
 * into the document itself: Image Builder refuses to create a component whose content is
 * identical to an existing one (ResourceAlreadyExistsException, user guide create-component),
 * so a replacement caused by, say, a new description alone must still carry new content.
 */

/** API model `CreateComponentRequest.data` (`InlineComponentData`): 1-16,000 characters. */
export const MAX_INLINE_DATA = 16000;

export interface ComponentInputs {
  readonly name: string;
  readonly version: string;
  readonly platform: string;
  readonly description?: string;
  /** The document as written in the repository. */
  readonly text: string;
  /** The commit that last changed the document, when known. */
  readonly commit?: string;
}

/** The AWSTOE document's own `description`, if it has one: it describes the component too. */
export const documentDescription = (text: string): string | undefined => {
  try {
    const value = parse(text) as { description?: unknown } | null;
    const description = typeof value?.description === "string" ? value.description.trim() : "";
    return description ? description.slice(0, 1024) : undefined;
  } catch {
    return undefined;
  }
};

export const componentInputHash = (inputs: ComponentInputs): string =>
  hashOf({ kind: "component", ...inputs });

/** The document as created: a comment line with the input hash, then the document unchanged. */
export const componentData = (text: string, inputHash: string): string =>
  `# ami-orchestrator input sha256:${inputHash}\n${text}`;

/** Length as the API counts it: characters (code points), not UTF-16 units. */
export const characterCount = (text: string): number => [...text].length;

/**
 * "Image Builder determines the component type from the document. If the document contains a
 * single phase named test, the component type is TEST. Otherwise, the component type is BUILD"
 * (CloudFormation reference, AWS::ImageBuilder::Component).
 */
export const isTestOnly = (text: string): boolean => {
  try {
    const value = parse(text) as { phases?: unknown } | null;
    const phases = Array.isArray(value?.phases) ? value.phases : [];
    return phases.length === 1 && (phases[0] as { name?: unknown } | null)?.name === "test";
  } catch {
    return false;
  }
};
