// The one redactor lives in lib/redaction (logs use it too); alerts import it from here.
export * from "../redaction/redact.ts";
