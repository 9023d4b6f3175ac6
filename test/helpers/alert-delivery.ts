import { after, before, beforeEach } from "node:test";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { SlackReceiver } from "../../sandbox/slack-receiver.ts";
import { localDynamoSuite } from "./dynalite.ts";

/** The alerts topic the email goes to. */
export const ALERTS_TOPIC = "arn:aws:sns:eu-west-1:999999999999:alerts";

/**
 * What `deliverAlert` works with, for the suite it is called in: a local DynamoDB for its
 * records, a loopback Slack receiver (started before the tests, closed after), and the email
 * topic mocked (every publish accepted, reset before each test). `deps` are the delivery's
 * dependencies over them, with Slack retried `maxAttempts` times and no waiting in between.
 */
export const alertDeliverySuite = (slackSettings: {
  readonly maxAttempts: number;
  readonly timeoutMs: number;
}) => {
  const dynamo = localDynamoSuite();
  const sns = mockClient(SNSClient);
  let slack: SlackReceiver | undefined;
  before(async () => {
    slack = await new SlackReceiver().start();
  });
  after(async () => {
    await slack?.close();
  });
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  });
  const receiver = (): SlackReceiver => {
    if (!slack) throw new Error("the Slack receiver starts in the suite's before hook");
    return slack;
  };
  return {
    dynamo,
    sns,
    get slack() {
      return receiver();
    },
    deps: ({
      db = dynamo.db,
      slackWebhookUrl = async () => receiver().url,
    }: {
      readonly db?: DynamoDBDocumentClient;
      readonly slackWebhookUrl?: () => Promise<string | undefined>;
    } = {}) => ({
      db,
      table: dynamo.table,
      sns: new SNSClient({ region: "eu-west-1" }),
      topicArn: ALERTS_TOPIC,
      slackWebhookUrl,
      clock: { now: () => Date.now() },
      slack: { sleep: async () => undefined, ...slackSettings },
    }),
  };
};
