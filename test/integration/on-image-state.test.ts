import assert from "node:assert/strict";
import { before, beforeEach, describe, it } from "node:test";
import { GetImageCommand, ImagebuilderClient } from "@aws-sdk/client-imagebuilder";
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { ImageStateError, makeHandler } from "../../functions/on-image-state.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { InvalidEventError } from "../../lib/errors.ts";
import { parseImageStateEvent } from "../../lib/events/image-state.ts";
import { approveWaveAndAdvance } from "../../lib/rollout/advance.ts";
import { handleImageStateChange, RejectedNotificationError } from "../../lib/rollout/intake.ts";
import { rollbackPipeline } from "../../lib/rollout/rollback.ts";
import { getRollout, getTarget, latestRollouts } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import { loadEvent, repoPath } from "../helpers/fixtures.ts";
import { recordingObservability } from "../helpers/observability.ts";
import { mockedRolloutQueue, queueDeps } from "../helpers/rollout-records.ts";

const sqs = mockedRolloutQueue();
const imageBuilder = mockClient(ImagebuilderClient);
const config = loadConfig(repoPath("config/orchestrator.yml"));

/** The sample image's ARN without its build number: rollouts are keyed by image ARN. */
const IMAGE = "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.4.0";

type Outcomes = { outcomes: ReadonlyArray<Record<string, unknown>> };

/**
 * What Image Builder itself says about each image (GetImage), by ARN: a notification is only
 * believed as far as this goes. `genuine(event)` records each message of an SNS event as the
 * truth, as when Image Builder published it.
 */
const truth = new Map<string, Record<string, unknown>>();
type SnsEvent = { Records: Array<{ Sns: { Message: string } }> };
const genuine = <T extends SnsEvent>(event: T): T => {
  for (const record of event.Records) {
    const message = JSON.parse(record.Sns.Message);
    truth.set(message.arn, {
      arn: message.arn,
      name: message.name,
      version: message.version,
      sourcePipelineArn: message.sourcePipelineArn,
      state: message.state,
      outputResources: message.outputResources,
      distributionConfiguration: message.distributionConfiguration,
    });
  }
  return event;
};
const answerGetImageFromTruth = () =>
  imageBuilder.on(GetImageCommand).callsFake((input: { imageBuildVersionArn: string }) => ({
    image: truth.get(input.imageBuildVersionArn),
  }));

/** The sample SNS event, with its image renumbered so each test gets its own rollout. */
const snsAvailable = (build: number, records = 1) => genuine(snsSample(build, records));
const snsSample = (build: number, records = 1) => {
  const event = loadEvent<{ Records: Array<{ Sns: { Message: string; MessageId: string } }> }>(
    "imagebuilder-sns-available",
  );
  const [record] = event.Records;
  const message = JSON.parse(record?.Sns.Message ?? "{}");
  return {
    Records: Array.from({ length: records }, (_, index) => ({
      ...record,
      Sns: {
        ...record?.Sns,
        MessageId: `m-${build}-${index}`,
        Message: JSON.stringify({
          ...message,
          arn: message.arn.replace(/\/7$/, `/${build + index}`),
        }),
      },
    })),
  };
};

const sentBodies = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody ?? "{}"));

describe("on-image-state with a real local DynamoDB", () => {
  const dynamo = localDynamoSuite();
  const { logged, observability } = recordingObservability();
  let invoke: (event: unknown) => Promise<Outcomes>;

  before(() => {
    const handler = makeHandler(
      () => ({
        ...queueDeps(dynamo, config, Date.parse("2026-11-23T02:41:18Z")),
        imageBuilder: (region) => new ImagebuilderClient({ region }),
      }),
      observability,
    );
    invoke = (event) => handler(event, fakeContext("on-image-state")) as Promise<Outcomes>;
  });
  beforeEach(() => {
    imageBuilder.reset();
    logged.length = 0;
    answerGetImageFromTruth();
  });

  it("starts the rollout from the SNS sample: the first wave's targets are enqueued", async () => {
    const { outcomes } = await invoke(snsAvailable(100));

    assert.equal(outcomes[0]?.outcome, "rollout-started");
    // Ids only: the AMI and the wave are in the target record, which roll-out-target reads.
    assert.deepEqual(sentBodies(), [
      { rolloutId: `${IMAGE}/100`, accountId: "111111111111", region: "eu-west-1", attempt: 0 },
    ]);
    const target = await getTarget(dynamo.db, dynamo.table, `${IMAGE}/100`, {
      accountId: "111111111111",
      region: "eu-west-1",
    });
    assert.deepEqual([target?.wave, target?.amiId], ["dev", "ami-0a1b2c3d4e5f60002"]);
    const record = await getRollout(dynamo.db, dynamo.table, `${IMAGE}/100`);
    assert.equal(record?.dispatchedWave, 0);
    assert.equal(record?.waveCount, 2);
  });

  it("a duplicate notification sends nothing", async () => {
    await invoke(snsAvailable(200));
    sqs.resetHistory();

    const { outcomes } = await invoke(snsAvailable(200));

    assert.equal(outcomes[0]?.outcome, "duplicate");
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
  });

  it("handles every record of an SNS batch, not only the first", async () => {
    const { outcomes } = await invoke(snsAvailable(300, 3));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.rolloutId),
      [`${IMAGE}/300`, `${IMAGE}/301`, `${IMAGE}/302`],
    );
  });

  it("completes an EventBridge event with GetImage before planning", async () => {
    imageBuilder.on(GetImageCommand).resolves({
      image: {
        sourcePipelineArn: "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023",
        state: { status: "AVAILABLE" },
        outputResources: {
          amis: [{ region: "eu-west-1", image: "ami-0eb0000000000001", accountId: "111111111111" }],
        },
      },
    });

    const event = loadEvent<{ resources: string[] }>("imagebuilder-eventbridge-image-available");
    event.resources = event.resources.map((arn) => arn.replace(/\/7$/, "/900"));
    const { outcomes } = await invoke(event);

    assert.equal(outcomes[0]?.outcome, "rollout-started");
    assert.equal(imageBuilder.commandCalls(GetImageCommand).length, 1);
    assert.deepEqual(outcomes[0]?.targetsWithoutAmi, [
      {
        wave: "prod",
        waveIndex: 1,
        account: "prod",
        accountId: "222222222222",
        region: "eu-west-1",
      },
      {
        wave: "prod",
        waveIndex: 1,
        account: "prod",
        accountId: "222222222222",
        region: "eu-west-3",
      },
    ]);
    assert.ok(logged.some((entry) => entry.level === "warn" && /do not match/.test(entry.message)));
  });

  it("a newer image supersedes the unfinished rollout; an older one arriving late starts nothing", async () => {
    await invoke(snsAvailable(1000));
    const newer = await invoke(snsAvailable(1001));
    sqs.resetHistory();
    const late = await invoke(snsAvailable(999));

    assert.equal(newer.outcomes[0]?.outcome, "rollout-started");
    assert.ok(((newer.outcomes[0]?.superseded ?? []) as string[]).includes(`${IMAGE}/1000`));
    const old = await getRollout(dynamo.db, dynamo.table, `${IMAGE}/1000`);
    assert.equal(old?.status, "superseded");
    assert.equal(old?.supersededBy, `${IMAGE}/1001`);
    assert.deepEqual(
      { outcome: late.outcomes[0]?.outcome, newer: late.outcomes[0]?.newerRollout },
      { outcome: "stale-image", newer: `${IMAGE}/1001` },
    );
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
  });

  it("ignores, with a log line, an image from a pipeline the config does not know", async () => {
    const event = snsAvailable(400);
    const record = event.Records[0] as { Sns: { Message: string } };
    const message = JSON.parse(record.Sns.Message);
    record.Sns.Message = JSON.stringify({
      ...message,
      sourcePipelineArn: message.sourcePipelineArn.replace("base-al2023", "someone-else"),
    });
    genuine(event);

    const { outcomes } = await invoke(event);

    assert.equal(outcomes[0]?.outcome, "unknown-pipeline");
    assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0);
    assert.ok(
      logged.some((entry) => entry.level === "info" && /not in the config/.test(entry.message)),
    );
  });

  it("reports a FAILED build for alerting, with its reason", async () => {
    const { outcomes } = await invoke(genuine(loadEvent<SnsEvent>("imagebuilder-sns-failed")));

    assert.equal(outcomes[0]?.outcome, "build-failed");
    assert.equal(outcomes[0]?.pipeline, "web-ubuntu2404");
    const entry = logged.find((line) => line.level === "error");
    assert.equal(entry?.fields.alert, "build-failed");
    assert.match(String(entry?.fields.reason), /ValidateBuild/);
  });

  it("ignores intermediate states with a debug line", async () => {
    const event = loadEvent<{ detail: { state: { status: string } } }>(
      "imagebuilder-eventbridge-image-available",
    );
    event.detail.state.status = "TESTING";

    const { outcomes } = await invoke(event);

    assert.deepEqual(outcomes[0]?.outcome, "ignored-state");
    assert.equal(imageBuilder.commandCalls(GetImageCommand).length, 0);
  });

  it("rejects a malformed notification naming the field, so Lambda retries then dead-letters it", async () => {
    const event = snsAvailable(500);
    const record = event.Records[0] as { Sns: { Message: string } };
    const { state: _state, ...withoutState } = JSON.parse(record.Sns.Message);
    record.Sns.Message = JSON.stringify(withoutState);

    await assert.rejects(invoke(event), (error: unknown) => {
      assert.ok(error instanceof InvalidEventError);
      assert.match(error.message, /Records\[0\]\.Sns\.Message: .*state.*missing/);
      return true;
    });
    assert.ok(logged.some((entry) => entry.level === "error" && entry.fields.event !== undefined));
  });

  it("after an older image's late notification, approve and rollback act on the newer image", async () => {
    // 1.10.0/1 is newer than 1.9.0/5: by version, not by arrival (nor by the ids as text).
    const image = (version: string, build: number) => {
      const event = snsAvailable(build);
      const record = event.Records[0] as { Sns: { Message: string } };
      const message = JSON.parse(record.Sns.Message);
      record.Sns.Message = JSON.stringify({
        ...message,
        version,
        arn: message.arn.replace("/1.4.0/", `/${version}/`),
      });
      return genuine(event);
    };
    const newer = `${IMAGE.replace("1.4.0", "1.10.0")}/1`;
    await invoke(image("1.10.0", 1));
    const late = await invoke(image("1.9.0", 5));
    assert.equal(late.outcomes[0]?.outcome, "stale-image");

    const deps = {
      ...queueDeps(dynamo, config, Date.parse("2026-11-23T03:00:00Z")),
      autoScaling: () => assert.fail("no group was rolled: nothing to call"),
      ec2: () => assert.fail("no group was rolled: nothing to call"),
    };
    const approved = await approveWaveAndAdvance({ pipeline: "base-al2023", wave: "prod" }, deps);
    const rolledBack = await rollbackPipeline("base-al2023", deps, "test");

    assert.equal(approved.rolloutId, newer);
    assert.equal(rolledBack.rolloutId, newer);
    assert.ok(
      !(await latestRollouts(dynamo.db, dynamo.table, "base-al2023", 100)).some((id) =>
        id.includes("/1.9.0/"),
      ),
      "the stale image is not in the pipeline's index",
    );
  });

  it("two pipelines whose recipes share a name (other account and region) both roll out", async () => {
    const [base] = config.pipelines;
    const teamB = "arn:aws:imagebuilder:eu-west-3:888888888888:image-pipeline/base-al2023";
    const withTeamB = {
      ...config,
      pipelines: [
        ...config.pipelines,
        { ...(base as NonNullable<typeof base>), name: "team-b", arn: teamB },
      ],
    };
    const ours = snsAvailable(1, 1);
    const theirs = snsAvailable(1, 1);
    for (const [event, account, region, pipelineArn] of [
      [ours, "999999999999", "eu-west-1", base?.arn],
      [theirs, "888888888888", "eu-west-3", teamB],
    ] as const) {
      const record = event.Records[0] as { Sns: { Message: string } };
      const message = JSON.parse(record.Sns.Message);
      record.Sns.Message = JSON.stringify({
        ...message,
        version: "3.0.0",
        arn: message.arn
          .replace("eu-west-1:999999999999", `${region}:${account}`)
          .replace("/1.4.0/", "/3.0.0/"),
        sourcePipelineArn: pipelineArn,
      });
      genuine(event);
    }
    const deps = {
      ...queueDeps(dynamo, withTeamB, Date.parse("2026-11-23T02:41:18Z")),
      imageBuilder: (region: string) => new ImagebuilderClient({ region }),
    };

    const outcomes = [];
    for (const event of [ours, theirs])
      for (const change of parseImageStateEvent(event))
        outcomes.push(await handleImageStateChange(change, deps));

    assert.deepEqual(
      outcomes.map((outcome) => [outcome.outcome, "pipeline" in outcome ? outcome.pipeline : ""]),
      [
        ["rollout-started", "base-al2023"],
        ["rollout-started", "team-b"],
      ],
    );
    const records = await Promise.all(
      outcomes.map((outcome) =>
        getRollout(dynamo.db, dynamo.table, "rolloutId" in outcome ? outcome.rolloutId : ""),
      ),
    );
    assert.deepEqual(
      records.map((record) => [record?.name, record?.pipeline, record?.imageArn.split(":")[4]]),
      [
        ["base-al2023/3.0.0/1", "base-al2023", "999999999999"],
        ["base-al2023/3.0.0/1", "team-b", "888888888888"],
      ],
    );
  });
  describe("attacks: a notification is a hint, never the truth", () => {
    /** Rewrites the (single) SNS message of an event after Image Builder published it. */
    const forge = (event: SnsEvent, change: (message: Record<string, unknown>) => void) => {
      const record = event.Records[0] as { Sns: { Message: string } };
      const message = JSON.parse(record.Sns.Message);
      change(message);
      record.Sns.Message = JSON.stringify(message);
      return event;
    };
    const rejected = async (event: unknown, reason: string) => {
      await assert.rejects(invoke(event), (error: unknown) => {
        assert.ok(error instanceof ImageStateError, String(error));
        assert.ok(error.cause instanceof RejectedNotificationError, String(error.cause));
        assert.equal(error.cause.reason, reason);
        return true;
      });
      assert.equal(sqs.commandCalls(SendMessageBatchCommand).length, 0, "nothing rolled out");
      const entry = logged.find((line) => line.message === "image notification rejected");
      assert.equal(entry?.level, "error");
      assert.equal(entry?.fields.reason, reason);
      assert.equal(entry?.fields.alert, "notification-rejected");
      return entry?.fields ?? {};
    };
    const ATTACKER_AMIS = [
      { region: "eu-west-1", image: "ami-0badbadbadbad0001", accountId: "111111111111" },
      { region: "eu-west-1", image: "ami-0badbadbadbad0002", accountId: "222222222222" },
    ];

    it("forged AMI list: only the AMIs GetImage reports are rolled out", async () => {
      // A version of its own: newer than every image the other tests rolled out.
      const published = genuine(
        forge(snsSample(1), (message) => {
          message.arn = String(message.arn).replace("/1.4.0/", "/20.0.0/");
        }),
      );
      const event = forge(published, (message) => {
        message.outputResources = { amis: ATTACKER_AMIS };
      });

      const { outcomes } = await invoke(event);

      assert.equal(outcomes[0]?.outcome, "rollout-started");
      const targets = await Promise.all(
        sentBodies().map((body) => getTarget(dynamo.db, dynamo.table, body.rolloutId, body)),
      );
      assert.deepEqual(
        targets.map((target) => target?.amiId),
        ["ami-0a1b2c3d4e5f60002"],
      );
      assert.equal(imageBuilder.commandCalls(GetImageCommand).length, 1);
    });

    it("forged AVAILABLE for an image GetImage reports FAILED: rejected", async () => {
      const event = snsSample(5100);
      const failed = forge(snsSample(5100), (message) => {
        message.state = { status: "FAILED", reason: "component exited 1" };
        message.outputResources = { amis: [] };
      });
      genuine(failed);

      const fields = await rejected(event, "status-mismatch");
      assert.equal(fields.getImageStatus, "FAILED");
    });

    for (const [attack, from, to] of [
      ["image ARN from another account", ":999999999999:", ":666666666666:"],
      ["image ARN from another partition", "arn:aws:", "arn:aws-cn:"],
      ["image ARN from another region", ":eu-west-1:", ":eu-central-1:"],
    ] as const) {
      it(`${attack}: rejected before GetImage, nothing rolled out`, async () => {
        // It names the configured pipeline and a genuine-looking AMI list: neither is believed.
        const event = forge(snsSample(5200), (message) => {
          message.arn = String(message.arn).replace(from, to);
          message.outputResources = { amis: ATTACKER_AMIS };
        });
        genuine(event);

        const fields = await rejected(event, "image-outside-pipeline-scope");
        assert.ok(String(fields.imageArn).includes(to), String(fields.imageArn));
        assert.equal(imageBuilder.commandCalls(GetImageCommand).length, 0);
      });
    }

    it("SNS from an unconfigured topic: rejected, nothing rolled out", async () => {
      const event = snsAvailable(5300);
      const topic = "arn:aws:sns:eu-west-1:666666666666:imagebuilder-notifications";
      for (const record of event.Records) Object.assign(record.Sns, { TopicArn: topic });

      const fields = await rejected(event, "unconfigured-topic");
      assert.equal(fields.topicArn, topic);
      assert.equal(imageBuilder.commandCalls(GetImageCommand).length, 0);
    });

    it("oversized fields: a 1 MB pipeline ARN or name is refused at the edge, in a few KB of logs", async () => {
      const huge = "x".repeat(1_000_000);
      for (const change of [
        (message: Record<string, unknown>) => {
          message.sourcePipelineArn = `arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/${huge}`;
        },
        (message: Record<string, unknown>) => {
          message.name = huge;
        },
      ]) {
        logged.length = 0;
        const event = forge(snsSample(5400), change);

        await assert.rejects(invoke(event), (error: unknown) => {
          assert.ok(error instanceof InvalidEventError);
          assert.match(error.message, /longer than (1024|128) characters/);
          return true;
        });
        const size = JSON.stringify(logged, (_key, value) =>
          value instanceof Error ? { message: value.message } : value,
        ).length;
        assert.ok(size < 64_000, `logged ${size} characters`);
      }
    });

    it("oversized failure reason: kept, cut to 2,000 characters", async () => {
      const event = genuine(
        forge(loadEvent<SnsEvent>("imagebuilder-sns-failed"), (message) => {
          message.state = { status: "FAILED", reason: "y".repeat(1_000_000) };
        }),
      );

      const { outcomes } = await invoke(event);

      assert.equal(outcomes[0]?.outcome, "build-failed");
      assert.ok(String(outcomes[0]?.reason).length < 2100);
    });
  });
});
