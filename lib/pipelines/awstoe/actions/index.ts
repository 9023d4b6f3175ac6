import { assertAction } from "./assertion.ts";
import { downloadUploadActions } from "./download-upload.ts";
import { fileSystemActions } from "./file-system.ts";
import { generalExecutionActions } from "./general-execution.ts";
import { softwareInstallationActions } from "./software-installation.ts";
import type { ActionSpec } from "./spec.ts";
import { systemActions } from "./system.ts";

export type { ActionSpec, ComponentPlatform } from "./spec.ts";

/**
 * Every action module the AWSTOE user guide lists ("Action modules supported by AWSTOE component
 * manager", toe-action-modules.html), by its `action` name. The list matches the
 * `ComponentAction` enum of the CDK's aws-imagebuilder-alpha (lib/component.ts): 30 modules.
 */
export const ACTIONS: ReadonlyMap<string, ActionSpec> = new Map(
  [
    ...generalExecutionActions,
    assertAction,
    ...downloadUploadActions,
    ...fileSystemActions,
    ...softwareInstallationActions,
    ...systemActions,
  ].map((action) => [action.name, action]),
);

export const ACTION_NAMES: readonly string[] = [...ACTIONS.keys()].sort();
