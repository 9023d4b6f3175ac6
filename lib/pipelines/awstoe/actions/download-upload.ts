import { z } from "zod";
import { flag, orReference, text } from "../schema/values.ts";
import { defineAction } from "./spec.ts";

/**
 * "File download and upload modules" of the AWSTOE action modules page:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html#action-modules-download-upload
 * Each takes a list of entries, one per transfer.
 */
const category = "File download and upload modules";

const S3_URI = "must be an s3://bucket/key URI";
const s3Uri = orReference(z.string({ error: S3_URI }).regex(/^s3:\/\/[^/\s]+/, S3_URI), S3_URI);

/** S3Download: `source` (S3 object or `prefix/*`), `destination`, `expectedBucketOwner`, `overwrite`. */
export const s3Download = defineAction({
  name: "S3Download",
  category,
  anchor: "action-modules-s3download",
  form: "list",
  shape: {
    source: s3Uri,
    destination: text,
    expectedBucketOwner: text.optional(),
    overwrite: flag.optional(),
  },
});

/** S3Upload: `source` (local path, `*` allowed), `destination` (S3), `recurse`, `expectedBucketOwner`. */
export const s3Upload = defineAction({
  name: "S3Upload",
  category,
  anchor: "action-modules-s3upload",
  form: "list",
  shape: {
    source: text,
    destination: s3Uri,
    recurse: flag.optional(),
    expectedBucketOwner: text.optional(),
  },
});

const URL = "must be an http:// or https:// URL";

/** The algorithms WebDownload verifies a checksum with: "MD5, SHA1, SHA256, and SHA512". */
const ALGORITHMS = "must be MD5, SHA1, SHA256 or SHA512";
const checksumAlgorithm = orReference(
  z.string({ error: ALGORITHMS }).regex(/^(MD5|SHA1|SHA256|SHA512)$/i, ALGORITHMS),
  ALGORITHMS,
);

/**
 * WebDownload: `source` (HTTP/HTTPS URL), `destination`, `overwrite`, `checksum`, `algorithm`,
 * `ignoreCertificateErrors`; output `destination`. "For file verification to be enabled, both the
 * checksum and the algorithm must be provided": one without the other verifies nothing.
 */
export const webDownload = defineAction({
  name: "WebDownload",
  category,
  anchor: "action-modules-webdownload",
  form: "list",
  shape: {
    source: orReference(z.string({ error: URL }).regex(/^https?:\/\/\S+/i, URL), URL),
    destination: text,
    overwrite: flag.optional(),
    checksum: text.optional(),
    algorithm: checksumAlgorithm.optional(),
    ignoreCertificateErrors: flag.optional(),
  },
  outputs: ["destination"],
  refine: (inputs, context) => {
    const checksum = inputs.checksum !== undefined;
    if (checksum !== (inputs.algorithm !== undefined)) {
      context.addIssue({
        code: "custom",
        path: [checksum ? "checksum" : "algorithm"],
        message: `needs "${checksum ? "algorithm" : "checksum"}" too: WebDownload verifies the file only when both are given`,
      });
    }
  },
});

export const downloadUploadActions = [s3Download, s3Upload, webDownload];
