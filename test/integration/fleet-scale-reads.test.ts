import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { AutoScalingClient, DescribeInstanceRefreshesCommand } from "@aws-sdk/client-auto-scaling";
import { mockClient } from "aws-sdk-client-mock";
import type { RolloutTarget } from "../../lib/rollout/plan.ts";
import { pollRollouts } from "../../lib/rollout/poll.ts";
import { deactivateRollout, putGroup, updateTarget } from "../../lib/rollout/store.ts";
import { applyRefreshEvent } from "../../lib/rollout/watch.ts";
import { localDynamoSuite } from "../helpers/dynalite.ts";
import {
  appPipelineConfig,
  appRolloutSent,
  appTarget,
  mockedRolloutQueue,
  queueDeps,
} from "../helpers/rollout-records.ts";

mockedRolloutQueue();
const autoScaling = mockClient(AutoScalingClient);
const config = appPipelineConfig();
const NOW = "2026-11-23T08:00:00.000Z";

/**
 * The work one instance-refresh event costs must not depend on the size of the fleet (issue 20):
 * DynamoDB items read per event are counted for a rollout of 4 and of 100 targets, 3 groups each.
 */
/** A local DynamoDB whose items returned (Get, Query, BatchGet) are counted, as read units would. */
const countedDynamo = (count: (items: number) => void) =>
  localDynamoSuite(({ db }) => {
    db.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = (result.output ?? {}) as {
          Item?: unknown;
          Items?: unknown[];
          Responses?: Record<string, unknown[]>;
        };
        count(
          (output.Item ? 1 : 0) +
            (output.Items?.length ?? 0) +
            Object.values(output.Responses ?? {}).reduce((sum, items) => sum + items.length, 0),
        );
        return result;
      },
      { step: "initialize", name: "countItemsRead" },
    );
  });

describe("one refresh event reads the same number of items whatever the fleet", () => {
  let itemsRead = 0;
  const dynamo = countedDynamo((items) => {
    itemsRead += items;
  });

  /** A rollout of `size` dev targets (3 groups each, all refreshing), its dev wave sent. */
  const rolloutOf = async (size: number) => {
    const rolloutId = `app/1.0.0/${size}`;
    const targets: RolloutTarget[] = Array.from({ length: size }, (_, index) => ({
      ...appTarget("dev", 0, "ami-0d"),
      region: `region-${index}`,
    }));
    await appRolloutSent(dynamo, { rolloutId, targets, at: NOW });
    for (const target of targets) {
      await updateTarget(dynamo.db, dynamo.table, rolloutId, target, { status: "refreshing" }, NOW);
      for (const group of ["web", "api", "worker"])
        await putGroup(dynamo.db, dynamo.table, rolloutId, {
          group,
          accountId: target.accountId,
          region: target.region,
          status: "refresh-started",
          instanceRefreshId: `${rolloutId}-${target.region}-${group}`,
          updatedAt: NOW,
        });
    }
    return { rolloutId, targets };
  };

  const readsForOneEvent = async (size: number): Promise<number> => {
    const { rolloutId, targets } = await rolloutOf(size);
    const target = targets[Math.floor(size / 2)] as RolloutTarget;
    itemsRead = 0;
    await applyRefreshEvent(
      {
        outcome: "Succeeded",
        accountId: target.accountId,
        region: target.region,
        autoScalingGroupName: "web",
        instanceRefreshId: `${rolloutId}-${target.region}-web`,
        time: NOW,
        eventId: "e-1",
      },
      {
        ...queueDeps(dynamo, config, Date.parse("2026-11-23T09:00:00Z")),
        autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
        ec2: () => {
          throw new Error("no EC2 call expected");
        },
      },
    );
    return itemsRead;
  };

  it("4 targets or 100: the same items read for an event", async () => {
    const small = await readsForOneEvent(4);
    const large = await readsForOneEvent(100);
    assert.ok(small <= 20, `an event reads ${small} items`);
    assert.equal(large, small, `4 targets: ${small} items read; 100 targets: ${large}`);
  });
});

/**
 * The poll reads the targets that can still need it (the dispatched wave's open ones and the
 * failed ones), never the fleet: a rollout whose first wave of 2 targets is refreshing costs the
 * same poll whether 4 or 300 targets wait in the next wave (issue 20).
 */
describe("a poll reads the same number of items whatever waits in later waves", () => {
  let itemsRead = 0;
  const dynamo = countedDynamo((items) => {
    itemsRead += items;
  });
  beforeEach(() => {
    autoScaling.reset();
    autoScaling.on(DescribeInstanceRefreshesCommand).callsFake((input) => ({
      InstanceRefreshes: [
        { InstanceRefreshId: input.InstanceRefreshIds?.[0], Status: "InProgress" },
      ],
    }));
  });

  const readsForOnePoll = async (waiting: number): Promise<number> => {
    const rolloutId = `app/2.0.0/${waiting}`;
    const dev = [0, 1].map((index) => ({
      ...appTarget("dev", 0, "ami-0d"),
      region: `region-${index}`,
    }));
    const prod = Array.from({ length: waiting }, (_, index) => ({
      ...appTarget("prod", 1, "ami-0d"),
      region: `region-${index}`,
    }));
    await appRolloutSent(dynamo, { rolloutId, targets: [...dev, ...prod], at: NOW });
    for (const started of dev) {
      await updateTarget(
        dynamo.db,
        dynamo.table,
        rolloutId,
        started,
        { status: "refreshing" },
        NOW,
      );
      for (const group of ["web", "api", "worker"])
        await putGroup(dynamo.db, dynamo.table, rolloutId, {
          group,
          accountId: started.accountId,
          region: started.region,
          status: "refresh-started",
          instanceRefreshId: `${rolloutId}-${started.region}-${group}`,
          updatedAt: NOW,
        });
    }
    itemsRead = 0;
    const [outcome] = await pollRollouts({
      ...queueDeps(dynamo, config, Date.parse("2026-11-23T09:00:00Z")),
      autoScaling: () => new AutoScalingClient({ region: "eu-west-1" }),
      ec2: () => {
        throw new Error("no EC2 call expected");
      },
    });
    assert.deepEqual(outcome?.errors, []);
    // Every running refresh was read.
    assert.equal(autoScaling.commandCalls(DescribeInstanceRefreshesCommand).length, 6);
    return itemsRead;
  };

  it("4 targets waiting or 300: the same items read for a poll", async () => {
    const small = await readsForOnePoll(4);
    // Out of the next poll's way (the poll goes over every active rollout).
    autoScaling.resetHistory();
    await deactivateRollout(dynamo.db, dynamo.table, "app/2.0.0/4");
    const large = await readsForOnePoll(300);
    assert.ok(small <= 40, `a poll reads ${small} items`);
    assert.equal(large, small, `4 waiting: ${small} items read; 300 waiting: ${large}`);
  });
});
