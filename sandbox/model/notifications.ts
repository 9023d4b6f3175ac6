import { awsError } from "./errors.ts";
import type { CallContext } from "./faults.ts";

/** Publish's Message limit, in UTF-8 bytes (API reference, Publish). */
export const MAXIMUM_MESSAGE_BYTES = 262_144;

/** SNS topics: every Publish is kept, as an email subscriber would receive it. */
export class SnsModel {
  readonly published: Array<{ topicArn: string; subject?: string; message: string; at: number }> =
    [];

  constructor(private readonly now: () => number) {}

  readonly operations = {
    Publish: (call: CallContext) => {
      const subject = call.input.Subject === undefined ? undefined : String(call.input.Subject);
      // "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
      // characters long" (API reference, Publish).
      if (subject !== undefined && (subject.length >= 100 || /\p{Cc}/u.test(subject))) {
        throw awsError("InvalidParameter", "Invalid parameter: Subject");
      }
      // "messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not
      // 262,144 characters)" (API reference, Publish).
      const bytes = Buffer.byteLength(String(call.input.Message));
      if (bytes > MAXIMUM_MESSAGE_BYTES) {
        throw awsError(
          "InvalidParameter",
          `Invalid parameter: Message too long: ${bytes} bytes, at most ${MAXIMUM_MESSAGE_BYTES}`,
        );
      }
      this.published.push({
        topicArn: String(call.input.TopicArn),
        ...(subject === undefined ? {} : { subject }),
        message: String(call.input.Message),
        at: this.now(),
      });
      return { MessageId: `sns-${this.published.length}` };
    },
  };
}

/** SSM Parameter Store: String and SecureString parameters, per account and region. */
export class SsmModel {
  readonly parameters = new Map<string, { value: string; type: "String" | "SecureString" }>();

  put(
    accountId: string,
    region: string,
    name: string,
    value: string,
    type: "String" | "SecureString" = "SecureString",
  ): void {
    this.parameters.set(`${accountId}|${region}|${name}`, { value, type });
  }

  readonly operations = {
    GetParameter: (call: CallContext) => {
      const name = String(call.input.Name);
      const parameter = this.parameters.get(`${call.accountId}|${call.region}|${name}`);
      if (!parameter) throw awsError("ParameterNotFound", `Parameter ${name} not found.`);
      const decrypted = parameter.type === "String" || call.input.WithDecryption === true;
      return {
        Parameter: {
          Name: name,
          Type: parameter.type,
          Value: decrypted ? parameter.value : "AQICAHh...sandbox-ciphertext",
          Version: 1,
        },
      };
    },
  };
}

/** CloudWatch Logs: log events by group and stream, as Image Builder writes its build logs. */
export class LogsModel {
  readonly streams = new Map<string, string[]>();

  write(
    accountId: string,
    region: string,
    group: string,
    stream: string,
    lines: readonly string[],
  ): void {
    this.streams.set(`${accountId}|${region}|${group}|${stream}`, [...lines]);
  }

  readonly operations = {
    GetLogEvents: (call: CallContext) => {
      const key = `${call.accountId}|${call.region}|${String(call.input.logGroupName)}|${String(call.input.logStreamName)}`;
      const lines = this.streams.get(key);
      if (!lines)
        throw awsError("ResourceNotFoundException", "The specified log stream does not exist.");
      const limit = Number(call.input.limit ?? 10_000);
      const chosen =
        call.input.startFromHead === false ? lines.slice(-limit) : lines.slice(0, limit);
      return {
        events: chosen.map((message, index) => ({
          timestamp: index,
          message,
          ingestionTime: index,
        })),
      };
    },
  };
}
