import { z } from "zod";
import { orReference, text, textList } from "../schema/values.ts";
import { defineAction } from "./spec.ts";

/**
 * "System action modules" of the AWSTOE action modules page:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html#action-modules-file-system-actions
 */
const category = "System action modules";

const DELAY = "must be a whole number of seconds, 0 or more";

/** Reboot: `delaySeconds` (Integer, default 0). */
export const reboot = defineAction({
  name: "Reboot",
  category,
  anchor: "action-modules-reboot",
  form: "map",
  shape: {
    delaySeconds: orReference(z.int({ error: DELAY }).min(0, DELAY), DELAY).optional(),
  },
});

/** The registry path prefixes SetRegistry supports ("Supported path prefixes"). */
const REGISTRY_ROOTS =
  /^(HKEY_CLASSES_ROOT|HKCR:|HKEY_USERS|HKU:|HKEY_LOCAL_MACHINE|HKLM:|HKEY_CURRENT_CONFIG|HKCC:|HKEY_CURRENT_USER|HKCU:)/i;

const REGISTRY_PATH =
  "must start with a registry root: HKEY_LOCAL_MACHINE (HKLM:), HKEY_CURRENT_USER (HKCU:), HKEY_USERS (HKU:), HKEY_CLASSES_ROOT (HKCR:) or HKEY_CURRENT_CONFIG (HKCC:)";
const REGISTRY_TYPES = ["BINARY", "DWORD", "QWORD", "SZ", "EXPAND_SZ", "MULTI_SZ"] as const;
const REGISTRY_TYPE = `must be ${REGISTRY_TYPES.join(", ")}`;

/**
 * SetRegistry: a list of `path`, `name`, `value` (String/Number/Array), `type` (BINARY, DWORD,
 * QWORD, SZ, EXPAND_SZ, MULTI_SZ). "This feature applies only to Windows."
 */
export const setRegistry = defineAction({
  name: "SetRegistry",
  category,
  anchor: "action-modules-setregistry",
  form: "list",
  shape: {
    path: orReference(
      z.string({ error: REGISTRY_PATH }).regex(REGISTRY_ROOTS, REGISTRY_PATH),
      REGISTRY_PATH,
    ),
    name: text,
    value: z.union([text, textList], { error: "must be a string, a number or a list" }),
    type: orReference(z.enum(REGISTRY_TYPES, { error: REGISTRY_TYPE }), REGISTRY_TYPE),
  },
  platforms: ["Windows"],
});

/**
 * UpdateOS: `include`, `exclude` (String Lists, both optional); "installing Windows and Linux
 * updates", and "The UpdateOS action module doesn't support macOS" (create-component-yaml.html).
 */
export const updateOs = defineAction({
  name: "UpdateOS",
  category,
  anchor: "action-modules-updateos",
  form: "map",
  shape: { include: textList.optional(), exclude: textList.optional() },
  platforms: ["Linux", "Windows"],
});

export const systemActions = [reboot, setRegistry, updateOs];
