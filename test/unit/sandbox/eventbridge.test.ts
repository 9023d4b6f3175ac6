import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventBridgeModel, type RuleState } from "../../../sandbox/model/eventbridge.ts";

/**
 * Rule states as the events API model has them (RuleState): both enabled states match the events
 * the sandbox sends (none is a CloudTrail management event); DISABLED matches none.
 */
describe("sandbox EventBridge rule states (sandbox/model/eventbridge.ts)", () => {
  const event = { source: "aws.autoscaling", "detail-type": "EC2 Instance Launch Unsuccessful" };
  const delivered = (state: RuleState) => {
    const model = new EventBridgeModel();
    model.putRule({
      accountId: "111111111111",
      region: "eu-west-1",
      name: "forward",
      state,
      eventPattern: JSON.stringify({ source: ["aws.autoscaling"] }),
      targets: [{ Id: "bus", Arn: EventBridgeModel.busArn("999999999999", "eu-west-1") }],
    });
    return model.targetsFor("111111111111", "eu-west-1", event).length;
  };

  it("ENABLED and ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS deliver, DISABLED does not", () => {
    assert.equal(delivered("ENABLED"), 1);
    assert.equal(delivered("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"), 1);
    assert.equal(delivered("DISABLED"), 0);
  });
});
