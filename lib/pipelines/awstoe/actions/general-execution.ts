import { z } from "zod";
import { text, textList } from "../schema/values.ts";
import { defineAction } from "./spec.ts";

/**
 * "General execution modules" of the AWSTOE action modules page:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html#action-modules-general-execution
 */
const category = "General execution modules";

/**
 * ExecuteBash: `commands` (List, required), output `stdout`. "This module supports Linux"; the
 * user guide's macOS component example runs ExecuteBash too (create-component-yaml.html).
 */
export const executeBash = defineAction({
  name: "ExecuteBash",
  category,
  anchor: "action-modules-executebash",
  form: "map",
  shape: { commands: textList.min(1, "must list at least one command") },
  outputs: ["stdout"],
  platforms: ["Linux", "macOS"],
});

/** ExecuteBinary: `path` (String, required), `arguments` (String List); output `stdout`. */
export const executeBinary = defineAction({
  name: "ExecuteBinary",
  category,
  anchor: "action-modules-executebinary",
  form: "map",
  shape: { path: text, arguments: textList.optional() },
  outputs: ["stdout"],
});

/**
 * ExecuteDocument: `document` (required), `document-s3-bucket-owner`, `phases` (comma-separated
 * string), `parameters` (list of name/value). It "runs one time, with no retries allowed, and no
 * option to set timeout limits": timeoutSeconds -1 and maxAttempts 1, "and returns an error if you
 * try to change them". Its outputs hold the nested run's summary.
 */
export const executeDocument = defineAction({
  name: "ExecuteDocument",
  category,
  anchor: "action-modules-executedocument",
  form: "map",
  shape: {
    document: text,
    "document-s3-bucket-owner": text.optional(),
    phases: text.optional(),
    parameters: z
      .array(z.strictObject({ name: text, value: text }), {
        error: "must be a list of `- name: … value: …` entries",
      })
      .optional(),
  },
  outputs: [
    "executedStepCount",
    "executionId",
    "failedStepCount",
    "failureMessage",
    "ignoredFailedStepCount",
    "logUrl",
    "status",
  ],
  fixedStepFields: { timeoutSeconds: -1, maxAttempts: 1 },
});

/**
 * ExecutePowerShell: `commands` (String List) or `file` (path to a .ps1), "Must specify commands
 * or file, not both"; output `stdout`. "This module supports the Windows platform and Windows
 * PowerShell."
 */
export const executePowerShell = defineAction({
  name: "ExecutePowerShell",
  category,
  anchor: "action-modules-executepowershell",
  form: "map",
  shape: {
    commands: textList.min(1, "must list at least one command").optional(),
    file: text.optional(),
  },
  outputs: ["stdout"],
  platforms: ["Windows"],
  inputsRequired: true,
  refine: (inputs, context) => {
    const given = ["commands", "file"].filter((name) => inputs[name] !== undefined);
    if (given.length !== 1) {
      context.addIssue({
        code: "custom",
        path: given.length === 2 ? ["file"] : [],
        message:
          given.length === 2
            ? "cannot be given with commands: keep one of them"
            : 'need "commands" (a list of commands) or "file" (the path of a .ps1 script)',
      });
    }
  },
});

export const generalExecutionActions = [
  executeBash,
  executeBinary,
  executeDocument,
  executePowerShell,
];
