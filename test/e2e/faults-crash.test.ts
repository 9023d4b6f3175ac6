import { defineFaultSuite } from "../helpers/fault-suite.ts";

/**
 * roll-out-target killed right after each of its steps in turn (the AWS call or DynamoDB write
 * took effect, the code never saw the answer), one fresh build per crash point: the redelivered
 * message must resume, repeat no mutating call and leave every group on the new AMI.
 */
defineFaultSuite("a crash after any step of roll-out-target", 1, () => [
  {
    fault: "roll-out-target crashes after a step",
    inject: () => [],
    expect: "succeeded",
    crashAfterEveryStep: true,
  },
]);
