import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { InvalidEventError } from "../../../lib/errors.ts";
import { parseImageStateEvent } from "../../../lib/events/image-state.ts";
import { parseInstanceRefreshEvent } from "../../../lib/events/instance-refresh.ts";
import { parsePipelineAutoDisabled } from "../../../lib/events/pipeline-disabled.ts";
import { loadEvent } from "../../helpers/fixtures.ts";

const TOPIC = "arn:aws:sns:eu-west-1:999999999999:imagebuilder-notifications";
type SnsEvent = { Records: Array<{ Sns: { Message: string; MessageId: string } }> };

describe("image state events", () => {
  it("normalises an Image Builder SNS AVAILABLE message with its distributed AMIs", () => {
    const [change] = parseImageStateEvent(loadEvent("imagebuilder-sns-available"));

    assert.equal(change?.source, "sns");
    assert.equal(change?.status, "AVAILABLE");
    assert.equal(
      change?.imageArn,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image/base-al2023/1.4.0/7",
    );
    assert.equal(
      change?.pipelineArn,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/base-al2023",
    );
    assert.deepEqual(
      change?.amis?.map((ami) => `${ami.accountId}/${ami.region}/${ami.image}`),
      [
        "999999999999/eu-west-1/ami-0a1b2c3d4e5f60001",
        "111111111111/eu-west-1/ami-0a1b2c3d4e5f60002",
        "222222222222/eu-west-1/ami-0a1b2c3d4e5f60003",
        "222222222222/eu-west-3/ami-0a1b2c3d4e5f60004",
      ],
    );
  });

  it("reads the failure reason of a FAILED message, whose outputs are empty", () => {
    const [change] = parseImageStateEvent(loadEvent("imagebuilder-sns-failed"));

    assert.equal(change?.status, "FAILED");
    assert.match(change?.reason ?? "", /Step 'ValidateBuild' failed/);
    assert.deepEqual(change?.amis, []);
  });

  it("handles every record of an SNS batch, not only the first", () => {
    const available = loadEvent<SnsEvent>("imagebuilder-sns-available");
    const failed = loadEvent<SnsEvent>("imagebuilder-sns-failed");
    const batch = { Records: [...available.Records, ...failed.Records] };

    assert.deepEqual(
      parseImageStateEvent(batch).map((change) => change.status),
      ["AVAILABLE", "FAILED"],
    );
  });

  it("ignores the imprecise semver and the non-ISO dateCreated", () => {
    const event = loadEvent<SnsEvent>("imagebuilder-sns-available");
    assert.match(event.Records[0]?.Sns.Message ?? "", /"semver":\d{20,}/);
    assert.match(event.Records[0]?.Sns.Message ?? "", /"dateCreated":"Nov 23, 2026/);
    const [change] = parseImageStateEvent(event);
    assert.ok(change && !("semver" in change) && !("dateCreated" in change));
  });

  it("normalises the EventBridge state change, which carries no AMIs", () => {
    const [change] = parseImageStateEvent(loadEvent("imagebuilder-eventbridge-image-available"));

    assert.equal(change?.source, "eventbridge");
    assert.equal(change?.status, "AVAILABLE");
    assert.equal(change?.previousStatus, "DISTRIBUTING");
    assert.equal(change?.amis, undefined);
    assert.equal(change?.deliveryId, "b7d9c3e1-4a2f-6b8c-0d1e-2f3a4b5c6d7e");
  });

  it("reads the reason of an EventBridge FAILED state", () => {
    const [change] = parseImageStateEvent(loadEvent("imagebuilder-eventbridge-image-failed"));
    assert.equal(change?.status, "FAILED");
    assert.match(change?.reason ?? "", /hardening-cis/);
  });

  it("names the missing field of a malformed message", () => {
    const event = loadEvent<SnsEvent>("imagebuilder-sns-available");
    const message = JSON.parse(event.Records[0]?.Sns.Message ?? "{}");
    delete message.state;
    (event.Records[0] as { Sns: { Message: string } }).Sns.Message = JSON.stringify(message);

    assert.throws(
      () => parseImageStateEvent(event),
      (error: unknown) => {
        assert.ok(error instanceof InvalidEventError);
        assert.match(error.message, /state: .*\(missing\)/);
        assert.equal(error.event, event);
        return true;
      },
    );
  });

  it("rejects a record whose message is not JSON", () => {
    const event = {
      Records: [{ EventSource: "aws:sns", Sns: { TopicArn: TOPIC, Message: "hello" } }],
    };
    assert.throws(() => parseImageStateEvent(event), /Records\[0\]\.Sns\.Message is not JSON/);
  });

  it("rejects anything else with a clear InvalidEventError, never a TypeError (property)", () => {
    fc.assert(
      fc.property(fc.anything(), (event) => {
        try {
          parseImageStateEvent(event);
        } catch (error) {
          assert.ok(error instanceof InvalidEventError, String(error));
        }
      }),
    );
  });
});

/** The sample SNS event, its message rewritten by `edit`. */
const snsWith = (edit: (message: Record<string, unknown>) => Record<string, unknown>) => {
  const event = loadEvent<SnsEvent>("imagebuilder-sns-available");
  const record = event.Records[0] as SnsEvent["Records"][number];
  record.Sns.Message = JSON.stringify(edit(JSON.parse(record.Sns.Message)));
  return event;
};
const accounts = (count: number, first = 100_000_000_000) =>
  Array.from({ length: count }, (_, index) => String(first + index));
const REGIONS = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "us-east-1", "us-east-2"];

describe("image state events at fleet scale (limits from the Image Builder API model)", () => {
  it("accepts a distribution to 1,536 accounts in each region, the most the API allows", () => {
    const event = snsWith((message) => ({
      ...message,
      distributionConfiguration: {
        distributions: REGIONS.map((region) => ({
          region,
          amiDistributionConfiguration: {
            targetAccountIds: accounts(1536),
            launchPermission: { userIds: accounts(1536, 200_000_000_000) },
          },
        })),
      },
    }));

    const [change] = parseImageStateEvent(event);

    assert.deepEqual(
      change?.distributions?.map((distribution) => distribution.targetAccountIds.length),
      REGIONS.map(() => 1536),
    );
  });

  it("refuses a region distributing to 1,537 accounts, which Image Builder itself refuses", () => {
    const event = snsWith((message) => ({
      ...message,
      distributionConfiguration: {
        distributions: [
          {
            region: "eu-west-1",
            amiDistributionConfiguration: { targetAccountIds: accounts(1537) },
          },
        ],
      },
    }));

    assert.throws(() => parseImageStateEvent(event), /targetAccountIds.*more than 1536 items/s);
  });

  it("accepts a message listing 5,000 AMIs (a hint: the intake reads them from GetImage)", () => {
    const amis = REGIONS.flatMap((region) =>
      accounts(834).map((accountId, index) => ({
        region,
        image: `ami-${(index + 1).toString(16).padStart(17, "0")}`,
        accountId,
      })),
    ).slice(0, 5000);
    const event = snsWith((message) => ({ ...message, outputResources: { amis } }));

    const [change] = parseImageStateEvent(event);

    assert.equal(change?.amis?.length, 5000);
  });

  it("accepts a message too small to carry the AMI list, which GetImage supplies", () => {
    const event = snsWith(({ outputResources: _dropped, ...message }) => message);

    const [change] = parseImageStateEvent(event);

    assert.deepEqual(change?.amis, []);
  });
});

describe("other Image Builder and Auto Scaling events", () => {
  it("parses the pipeline automatically disabled event", () => {
    const disabled = parsePipelineAutoDisabled(
      loadEvent("imagebuilder-eventbridge-pipeline-disabled"),
    );
    assert.equal(
      disabled.pipelineArn,
      "arn:aws:imagebuilder:eu-west-1:999999999999:image-pipeline/web-ubuntu2404",
    );
    assert.equal(disabled.consecutiveFailures, 3);
  });

  it("parses instance refresh outcomes from the detail-type", () => {
    const succeeded = parseInstanceRefreshEvent(loadEvent("asg-instance-refresh-succeeded"));
    assert.equal(succeeded.outcome, "Succeeded");
    assert.equal(succeeded.autoScalingGroupName, "web-frontend");
    const failed = parseInstanceRefreshEvent(loadEvent("asg-instance-refresh-failed"));
    assert.equal(failed.outcome, "Failed");
    assert.equal(failed.accountId, "222222222222");
    assert.match(failed.statusReason ?? "", /failed to launch/);
  });

  it("rejects an unknown instance refresh detail-type", () => {
    const event = {
      ...loadEvent("asg-instance-refresh-succeeded"),
      "detail-type": "EC2 Auto Scaling Instance Refresh Exploded",
    };
    assert.throws(() => parseInstanceRefreshEvent(event), /detail-type/);
  });
});
