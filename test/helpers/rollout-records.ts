import { beforeEach } from "node:test";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import type { OrchestratorConfig } from "../../lib/config/schema.ts";
import type { RolloutTarget } from "../../lib/rollout/plan.ts";
import {
  createRollout,
  markWaveDispatched,
  putGroup,
  updateTarget,
} from "../../lib/rollout/store.ts";
import type { LocalDynamo } from "./dynalite.ts";
import { pipelineArn, testConfig } from "./fixtures.ts";
import { DEV_ACCOUNT, PROD_ACCOUNT } from "./target-account.ts";

/**
 * The `app` pipeline of the integration suites, its rollout queue, and its rollouts as our
 * records hold them in a local DynamoDB.
 */

/** `testConfig()` with the `app` pipeline: its waves (a dev wave, then prod), groups tagged team=web. */
export const appPipelineConfig = ({
  waves = "[{ name: dev, accounts: [dev] }, { name: prod, accounts: [prod] }]",
  extra = "",
}: {
  /** The `waves` value, in YAML. */
  readonly waves?: string;
  /** YAML lines after `autoScalingGroups`: six spaces in, rollout settings; four, the pipeline's. */
  readonly extra?: string;
} = {}): OrchestratorConfig =>
  testConfig(`  - name: app
    arn: ${pipelineArn("app")}
    rollout:
      waves: ${waves}
      autoScalingGroups: { tags: { team: web } }
${extra}`);

/** A target of an `app` rollout in eu-west-1, in the dev or prod account. */
export const appTarget = (
  wave: "dev" | "prod",
  waveIndex: number,
  amiId: string,
): RolloutTarget => ({
  wave,
  waveIndex,
  account: wave,
  accountId: wave === "dev" ? DEV_ACCOUNT : PROD_ACCOUNT,
  region: "eu-west-1",
  amiId,
});

export const ROLLOUT_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/999999999999/rollout";

/** The rollout queue, mocked: it accepts every batch (reset before each test of the suite). */
export const mockedRolloutQueue = () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });
  return sqs;
};

/** What the rollout code gets beside its AWS clients: the config, table, queue and our clock. */
export const queueDeps = (dynamo: LocalDynamo, config: OrchestratorConfig, now: number) => ({
  config,
  db: dynamo.db,
  table: dynamo.table,
  sqs: new SQSClient({ region: "eu-west-1" }),
  queueUrl: ROLLOUT_QUEUE_URL,
  clock: { now: () => now },
});

/** An `app` rollout recorded at `at` with its targets, as on-image-state records it, no wave sent. */
export const appRolloutPlanned = async (
  dynamo: LocalDynamo,
  { rolloutId, targets, at }: { rolloutId: string; targets: readonly RolloutTarget[]; at: string },
): Promise<void> => {
  await createRollout(
    dynamo.db,
    dynamo.table,
    {
      rolloutId,
      pipeline: "app",
      imageArn: `arn:image/${rolloutId}`,
      targets: [...targets],
      targetsWithoutAmi: [],
      amisWithoutTarget: [],
    },
    at,
  );
};

/** An `app` rollout recorded at `at` with its targets, as on-image-state records it, its first wave sent. */
export const appRolloutSent = async (
  dynamo: LocalDynamo,
  rollout: { rolloutId: string; targets: readonly RolloutTarget[]; at: string },
): Promise<void> => {
  await appRolloutPlanned(dynamo, rollout);
  await markWaveDispatched(dynamo.db, dynamo.table, rollout.rolloutId, 0, rollout.at);
};

let builds = 0;

/**
 * A new `app` rollout (`app/1.0.0/<n>`, n counting in the test file) as on-image-state and
 * roll-out-target leave it: recorded at `at` with its targets, its first wave sent, the dev target
 * refreshing its one group `web` (refresh `<refreshIdPrefix><n>`).
 */
export const devWaveRefreshing = async (
  dynamo: LocalDynamo,
  {
    targets,
    at,
    refreshIdPrefix,
  }: {
    /** The dev target first. */
    readonly targets: readonly [RolloutTarget, ...RolloutTarget[]];
    readonly at: string;
    readonly refreshIdPrefix: string;
  },
) => {
  builds += 1;
  const rolloutId = `app/1.0.0/${builds}`;
  const instanceRefreshId = `${refreshIdPrefix}${builds}`;
  const [dev] = targets;
  await appRolloutSent(dynamo, { rolloutId, targets, at });
  await updateTarget(dynamo.db, dynamo.table, rolloutId, dev, { status: "refreshing" }, at);
  const group = { group: "web", accountId: dev.accountId, region: dev.region, instanceRefreshId };
  await putGroup(dynamo.db, dynamo.table, rolloutId, {
    ...group,
    status: "refresh-started",
    updatedAt: at,
  });
  return { rolloutId, group };
};
