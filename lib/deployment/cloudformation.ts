import { parse, type Tags } from "yaml";

/**
 * CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`...), read as their long form
 * (`{ "Ref": ... }`, `{ "Fn::Sub": ... }`) so serverless.yml and templates/*.yml can be
 * inspected as what CloudFormation receives. `!GetAtt A.B` becomes `["A", "B"]`, as in JSON.
 */
const SHORT_FORMS = [
  "Ref",
  "Sub",
  "GetAtt",
  "If",
  "Not",
  "Equals",
  "And",
  "Or",
  "Condition",
  "Join",
  "Select",
  "Split",
  "FindInMap",
  "ImportValue",
  "Base64",
  "GetAZs",
  "Cidr",
];

/** A collection tag receives the YAML node: its plain value is what CloudFormation gets. */
const plain = (value: unknown): unknown =>
  typeof (value as { toJSON?: unknown })?.toJSON === "function"
    ? (value as { toJSON(): unknown }).toJSON()
    : value;

const cloudFormationTags: Tags = SHORT_FORMS.flatMap((name) => {
  const key = name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
  const resolve = (value: unknown) => ({
    [key]: name === "GetAtt" && typeof value === "string" ? value.split(".") : plain(value),
  });
  return [
    { tag: `!${name}`, resolve, collection: "seq" as const },
    { tag: `!${name}`, resolve, collection: "map" as const },
    { tag: `!${name}`, resolve },
  ];
});

// biome-ignore lint/suspicious/noExplicitAny: a template is free-form JSON
export const parseCloudFormationYaml = (text: string): any =>
  parse(text, { customTags: cloudFormationTags });
