import { z } from "zod";
import { flag, orReference, text } from "../schema/values.ts";
import { defineAction } from "./spec.ts";

/**
 * "Software installation actions" of the AWSTOE action modules page:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html#action-modules-software-install-actions
 * Both install or remove "a Windows application using an MSI file".
 */
const category = "Software installation actions";

const REBOOT = "must be Allow, Force or Skip";
const LOG_OPTIONS = "must be msiexec /L flags drawn from i w e a r u c m o p v x + ! *";

const msiInputs = {
  path: text,
  /** "Allow, Force, Skip" (default Allow). */
  reboot: orReference(z.enum(["Allow", "Force", "Skip"], { error: REBOOT }), REBOOT).optional(),
  /** Flags passed with /L: "i,w,e,a,r,u,c,m,o,p,v,x,+,!,*" (default *VX). */
  logOptions: orReference(
    z.string({ error: LOG_OPTIONS }).regex(/^[iIwWeEaArRuUcCmMoOpPvVxX+!*]+$/, LOG_OPTIONS),
    LOG_OPTIONS,
  ).optional(),
  logFile: text.optional(),
  properties: z
    .record(z.string(), text, { error: "must map MSI property names to values" })
    .optional(),
  ignoreAuthenticodeSignatureErrors: flag.optional(),
  allowUnsignedInstaller: flag.optional(),
};

/** InstallMSI outputs `logFile`, `msiExitCode` and `stdout` (the page's output example). */
export const installMsi = defineAction({
  name: "InstallMSI",
  category,
  anchor: "action-modules-install-msi",
  form: "map",
  shape: msiInputs,
  outputs: ["logFile", "msiExitCode", "stdout"],
  platforms: ["Windows"],
});

/** UninstallMSI takes the same inputs and outputs as InstallMSI. */
export const uninstallMsi = defineAction({
  name: "UninstallMSI",
  category,
  anchor: "action-modules-uninstall-msi",
  form: "map",
  shape: msiInputs,
  outputs: ["logFile", "msiExitCode", "stdout"],
  platforms: ["Windows"],
});

export const softwareInstallationActions = [installMsi, uninstallMsi];
