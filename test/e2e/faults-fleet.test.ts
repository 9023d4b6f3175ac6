import assert from "node:assert/strict";
import { defineFaultSuite, UNAVAILABLE } from "../helpers/fault-suite.ts";

process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
process.env.POWERTOOLS_METRICS_DISABLED = "true";

/** Its own process: the handlers load the 25-account config once per container, as in Lambda. */
defineFaultSuite("fault injection at fleet scale", 25, () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const services = new Set(["autoscaling", "ec2", "kms", "sts"]);
  return [
    {
      fault: "50 targets, 1% random 503s",
      inject: ({ world }) => [
        world.faults.add({
          when: (call) => services.has(call.service) && random() < 0.01,
          error: UNAVAILABLE,
        }),
      ],
      expect: "succeeded",
      check: (state, { world }) => {
        assert.equal(state.targets.length, 50);
        assert.ok(world.faults.injected.length > 0, "faults were actually injected");
      },
    },
  ];
});
