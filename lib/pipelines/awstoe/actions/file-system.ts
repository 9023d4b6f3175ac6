import { encoding, flag, text, unixAttribute } from "../schema/values.ts";
import { defineAction } from "./spec.ts";

/**
 * "File system operation modules" of the AWSTOE action modules page:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html#action-modules-file-system-operations
 * Each takes a list of entries, one per file or folder. Inputs marked "Not supported on Windows"
 * in the input tables make the module (or those inputs) Linux and macOS only.
 */
const category = "File system operation modules";
const unix = ["Linux", "macOS"] as const;

const fileSystemAction = (
  name: string,
  anchor: string,
  shape: Parameters<typeof defineAction>[0]["shape"],
  extra: Partial<Parameters<typeof defineAction>[0]> = {},
) => defineAction({ name, category, anchor, form: "list", shape, ...extra });

/** AppendFile: `path`, `content`, `encoding`. */
export const appendFile = fileSystemAction("AppendFile", "action-modules-appendfile", {
  path: text,
  content: text.optional(),
  encoding: encoding.optional(),
});

const copyOrMove = { source: text, destination: text, overwrite: flag.optional() };

/** CopyFile, CopyFolder, MoveFile, MoveFolder: `source`, `destination`, `overwrite`. */
export const copyFile = fileSystemAction("CopyFile", "action-modules-copyfile", copyOrMove);
export const copyFolder = fileSystemAction("CopyFolder", "action-modules-copyfolder", copyOrMove);
export const moveFile = fileSystemAction("MoveFile", "action-modules-movefile", copyOrMove);
export const moveFolder = fileSystemAction("MoveFolder", "action-modules-movefolder", copyOrMove);

/**
 * CreateFile: `path`, `content`, `encoding`, `owner`, `group`, `permissions`, `overwrite`; owner,
 * group and permissions are "Not supported on Windows".
 */
export const createFile = fileSystemAction(
  "CreateFile",
  "action-modules-createfile",
  {
    path: text,
    content: text.optional(),
    encoding: encoding.optional(),
    owner: unixAttribute.optional(),
    group: unixAttribute.optional(),
    permissions: unixAttribute.optional(),
    overwrite: flag.optional(),
  },
  { unsupportedInputs: { platform: "Windows", names: ["owner", "group", "permissions"] } },
);

/**
 * CreateFolder: `path`, `owner`, `group`, `permissions`, `overwrite`; "This action module
 * validates and returns an error if the owner, group, and permissions options are used on
 * Windows platforms."
 */
export const createFolder = fileSystemAction(
  "CreateFolder",
  "action-modules-createfolder",
  {
    path: text,
    owner: unixAttribute.optional(),
    group: unixAttribute.optional(),
    permissions: unixAttribute.optional(),
    overwrite: flag.optional(),
  },
  { unsupportedInputs: { platform: "Windows", names: ["owner", "group", "permissions"] } },
);

/** CreateSymlink: `path`, `target`, `force`, all "Not supported on Windows". */
export const createSymlink = fileSystemAction(
  "CreateSymlink",
  "action-modules-createsymlink",
  { path: text, target: text, force: flag.optional() },
  { platforms: unix },
);

/** DeleteFile: `path` (wildcards after the last separator). */
export const deleteFile = fileSystemAction("DeleteFile", "action-modules-deleteefile", {
  path: text,
});

/** DeleteFolder: `path`, `force`. */
export const deleteFolder = fileSystemAction("DeleteFolder", "action-modules-deletefolder", {
  path: text,
  force: flag.optional(),
});

/** ListFiles: `path`, `fileNamePattern`, `recursive`; output `files`. */
export const listFiles = fileSystemAction(
  "ListFiles",
  "action-modules-listfiles",
  { path: text, fileNamePattern: text.optional(), recursive: flag.optional() },
  { outputs: ["files"] },
);

/** ReadFile: `path`, `encoding`, `printFileContent`; output `content`. */
export const readFile = fileSystemAction(
  "ReadFile",
  "action-modules-readfile",
  { path: text, encoding: encoding.optional(), printFileContent: flag.optional() },
  { outputs: ["content"] },
);

/** SetFileEncoding: `path`, `encoding`. */
export const setFileEncoding = fileSystemAction(
  "SetFileEncoding",
  "action-modules-setfileencoding",
  {
    path: text,
    encoding: encoding.optional(),
  },
);

/** SetFileOwner: `path`, `owner` (required), `group`; "Not supported on Windows". */
export const setFileOwner = fileSystemAction(
  "SetFileOwner",
  "action-modules-setfileowner",
  { path: text, owner: unixAttribute, group: unixAttribute.optional() },
  { platforms: unix },
);

/** SetFolderOwner: `path`, `owner` (required), `group`, `recursive`; "Not supported on Windows". */
export const setFolderOwner = fileSystemAction(
  "SetFolderOwner",
  "action-modules-setfolderowner",
  { path: text, owner: unixAttribute, group: unixAttribute.optional(), recursive: flag.optional() },
  { platforms: unix },
);

/** SetFilePermissions: `path`, `permissions` (required); "Not supported on Windows". */
export const setFilePermissions = fileSystemAction(
  "SetFilePermissions",
  "action-modules-setfilepermissions",
  { path: text, permissions: unixAttribute },
  { platforms: unix },
);

/** SetFolderPermissions: `path`, `permissions` (required), `recursive`; "Not supported on Windows". */
export const setFolderPermissions = fileSystemAction(
  "SetFolderPermissions",
  "action-modules-setfolderpermissions",
  { path: text, permissions: unixAttribute, recursive: flag.optional() },
  { platforms: unix },
);

export const fileSystemActions = [
  appendFile,
  copyFile,
  copyFolder,
  createFile,
  createFolder,
  createSymlink,
  deleteFile,
  deleteFolder,
  listFiles,
  moveFile,
  moveFolder,
  readFile,
  setFileEncoding,
  setFileOwner,
  setFolderOwner,
  setFilePermissions,
  setFolderPermissions,
];
