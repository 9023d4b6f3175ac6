import assert from "node:assert/strict";
import { before, beforeEach, describe, it } from "node:test";
import { GetImageCommand, ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { GetCommand, PutCommand, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { makeHandler } from "../../functions/on-image-state.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { MISMATCH_SAMPLE, readMismatches } from "../../lib/rollout/mismatches.ts";
import type { RolloutPlan } from "../../lib/rollout/plan.ts";
import {
  createRollout,
  finishRollout,
  getRollout,
  type RolloutRecord,
  rolloutKey,
} from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { type LocalDynamo, localDynamoSuite } from "../helpers/dynalite.ts";
import { loadEvent, repoPath } from "../helpers/fixtures.ts";
import { recordingObservability } from "../helpers/observability.ts";
import { mockedRolloutQueue, queueDeps } from "../helpers/rollout-records.ts";

const _sqs = mockedRolloutQueue();
const imageBuilder = mockClient(ImagebuilderClient);
const config = loadConfig(repoPath("config/orchestrator.yml"));
const NOW = "2026-11-23T02:41:18.000Z";
const BUILD = "999999999999";
/** DynamoDB's item size limit (AWS-FACTS section 11), which dynalite enforces too. */
const ITEM_LIMIT = 400 * 1024;

const REGIONS = [
  "eu-west-1",
  "eu-west-3",
  "eu-west-2",
  "eu-central-1",
  "eu-north-1",
  "us-east-1",
  "us-east-2",
  "us-west-2",
];
/** 1,250 accounts (the two configured ones among them) × 8 regions: 10,000 copies. */
const ACCOUNTS = [
  "111111111111",
  "222222222222",
  ...Array.from({ length: 1248 }, (_, index) => String(300_000_000_000 + index)),
];

/** An image distributed by copy to every account in every region, plus the build account's own. */
const bigImage = (arn: string) => {
  let serial = 0;
  const ami = (accountId: string, region: string) => ({
    region,
    image: `ami-${(serial++).toString(16).padStart(17, "0")}`,
    accountId,
    name: "base-al2023 2026-11-23T02-00-41.123Z",
  });
  return {
    arn,
    sourcePipelineArn: config.pipelines[0]?.arn,
    state: { status: "AVAILABLE" },
    outputResources: {
      amis: REGIONS.flatMap((region) => [
        ami(BUILD, region),
        ...ACCOUNTS.map((id) => ami(id, region)),
      ]),
    },
    distributionConfiguration: {
      distributions: REGIONS.map((region) => ({
        region,
        amiDistributionConfiguration: { targetAccountIds: ACCOUNTS },
      })),
    },
  };
};

/** The sample SNS notification of `image`: its distribution, but no AMI list (it cannot fit). */
const notificationOf = (image: ReturnType<typeof bigImage>) => {
  const event = loadEvent<{ Records: Array<{ Sns: { Message: string } }> }>(
    "imagebuilder-sns-available",
  );
  const record = event.Records[0] as { Sns: { Message: string } };
  const { outputResources: _tooBig, ...rest } = image;
  record.Sns.Message = JSON.stringify({ ...JSON.parse(record.Sns.Message), ...rest });
  return event;
};

const itemsOf = async (dynamo: LocalDynamo, rolloutId: string) => {
  const items: Array<Record<string, unknown>> = [];
  for await (const page of paginateQuery(
    { client: dynamo.db },
    {
      TableName: dynamo.table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": rolloutKey(rolloutId).pk },
    },
  )) {
    items.push(...(page.Items ?? []));
  }
  return items;
};
const largest = (items: ReadonlyArray<Record<string, unknown>>) =>
  Math.max(...items.map((item) => Buffer.byteLength(JSON.stringify(item))));

const readAll = async <K extends "targetsWithoutAmi" | "amisWithoutTarget">(
  dynamo: LocalDynamo,
  record: RolloutRecord,
  kind: K,
) => {
  const all: Array<RolloutRecord[K][number]> = [];
  for await (const page of readMismatches(dynamo.db, dynamo.table, record, kind)) all.push(...page);
  return all;
};

describe("intake at fleet scale (dynalite)", () => {
  const dynamo = localDynamoSuite();
  const { logged, observability } = recordingObservability();
  let invoke: (event: unknown) => Promise<{ outcomes: ReadonlyArray<Record<string, unknown>> }>;

  before(() => {
    const handler = makeHandler(
      () => ({
        ...queueDeps(dynamo, config, Date.parse(NOW)),
        imageBuilder: (region) => new ImagebuilderClient({ region }),
      }),
      observability,
    );
    invoke = (event) =>
      handler(event, fakeContext("on-image-state")) as Promise<{
        outcomes: ReadonlyArray<Record<string, unknown>>;
      }>;
  });
  beforeEach(() => {
    imageBuilder.reset();
    logged.length = 0;
  });

  it("accepts a 10,008-AMI image: the AMIs from GetImage, the notification carrying none", async () => {
    const arn = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image/base-al2023/1.4.0/500`;
    const image = bigImage(arn);
    imageBuilder.on(GetImageCommand).resolves({ image } as never);

    const { outcomes } = await invoke(notificationOf(image));

    assert.equal(image.outputResources.amis.length, 10_008);
    assert.equal(outcomes[0]?.outcome, "rollout-started");
    assert.equal(outcomes[0]?.targets, 1, "the dev wave's one target is sent");
    // Every copy but the 3 configured targets' (the build account's own are not mismatches).
    assert.equal(outcomes[0]?.amisWithoutTargetCount, 9_997);
    assert.equal(
      (outcomes[0]?.amisWithoutTarget as unknown[] | undefined)?.length,
      MISMATCH_SAMPLE,
    );
    const record = await getRollout(dynamo.db, dynamo.table, arn);
    assert.ok(record);
    assert.equal(record.amisWithoutTargetCount, 9_997);
    const all = await readAll(dynamo, record, "amisWithoutTarget");
    assert.equal(new Set(all.map((ami) => `${ami.accountId}/${ami.region}`)).size, 9_997);
    assert.ok(largest(await itemsOf(dynamo, arn)) < ITEM_LIMIT / 2);
    assert.ok(Buffer.byteLength(JSON.stringify(logged)) < 20_000, "the log carries a sample");
  });

  it("refuses an oversized list into its own items: 6,000 missing targets, each page small", async () => {
    const rolloutId = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image/base-al2023/1.4.0/600`;
    const missing = Array.from({ length: 6000 }, (_, index) => ({
      wave: "prod",
      waveIndex: 1,
      account: `account-${index}`,
      accountId: String(400_000_000_000 + index),
      region: "eu-west-1",
    }));
    const plan: RolloutPlan = {
      rolloutId,
      pipeline: "base-al2023",
      imageArn: rolloutId,
      targets: [],
      targetsWithoutAmi: missing,
      amisWithoutTarget: [],
    };
    // The first delivery dies just before the rollout record is written.
    const crashing = {
      send: (command: unknown) =>
        command instanceof PutCommand && command.input.Item?.sk === "META"
          ? Promise.reject(new Error("Lambda timed out"))
          : dynamo.db.send(command as never),
    } as typeof dynamo.db;
    await assert.rejects(createRollout(crashing, dynamo.table, plan, NOW), /timed out/);

    const { created, record } = await createRollout(dynamo.db, dynamo.table, plan, NOW);

    assert.equal(created, true);
    assert.equal(record.targetsWithoutAmiCount, 6000);
    assert.deepEqual(record.targetsWithoutAmi, missing.slice(0, MISMATCH_SAMPLE));
    const items = await itemsOf(dynamo, rolloutId);
    assert.ok(largest(items) < ITEM_LIMIT / 2);
    const stored = await readAll(dynamo, record, "targetsWithoutAmi");
    assert.deepEqual(
      stored,
      missing,
      "every missing target once, in order: the retry duplicated none",
    );
  });

  it("caps a rollout's failure reason, however long the caller's", async () => {
    const rolloutId = `arn:aws:imagebuilder:eu-west-1:${BUILD}:image/base-al2023/1.4.0/700`;
    await createRollout(
      dynamo.db,
      dynamo.table,
      {
        rolloutId,
        pipeline: "base-al2023",
        imageArn: rolloutId,
        targets: [],
        targetsWithoutAmi: [],
        amisWithoutTarget: [],
      },
      NOW,
    );

    await finishRollout(
      dynamo.db,
      dynamo.table,
      rolloutId,
      "failed",
      { reason: "x".repeat(500_000) },
      NOW,
    );

    const { Item: item } = await dynamo.db.send(
      new GetCommand({ TableName: dynamo.table, Key: rolloutKey(rolloutId) }),
    );
    assert.equal(item?.status, "failed");
    assert.ok(String(item?.reason).length <= 2_010);
  });
});
