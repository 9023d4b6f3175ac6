import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getRollout, getTarget } from "../../lib/rollout/store.ts";
import { fakeContext } from "../../sandbox/lambda.ts";
import { slrArn } from "../../sandbox/model/iam.ts";
import { sandboxSuite } from "../helpers/sandbox-suite.ts";

const DEV = "111111111111";
const PROD = "222222222222";
const BUILD = "999999999999";
const MODES = { share: "base-shared", "share-with-ou": "base-ou", mixed: "base-mixed" } as const;
type Mode = keyof typeof MODES;
const pipelineArn = (mode: Mode) =>
  `arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/${MODES[mode]}`;

/**
 * Three pipelines with the same rollout config, distributing in three ways (set in Image Builder,
 * not in this file): how AMIs reach targets is learned from AWS.
 */
const CONFIG = `
accounts:
  dev: { id: "${DEV}", externalId: ext-dev-01, regions: [eu-west-1] }
  prod: { id: "${PROD}", externalId: ext-prod-01, regions: [eu-west-1, eu-west-3] }
pipelines:
${Object.values(MODES)
  .map(
    (name) => `
  - name: ${name}
    arn: arn:aws:imagebuilder:eu-west-1:${BUILD}:image-pipeline/${name}
    notificationTopicArn: arn:aws:sns:eu-west-1:${BUILD}:imagebuilder-notifications
    rollout:
      waves:
        - { name: everywhere, accounts: [dev, prod] }
      autoScalingGroups: { tags: { "ami-orchestrator:pipeline": ${name} } }
      instanceRefresh: { minHealthyPercentage: 90, instanceWarmup: 60 }
      grantPropagationSeconds: 120`,
  )
  .join("")}
`;
const TARGETS = [
  [DEV, "eu-west-1"],
  [PROD, "eu-west-1"],
  [PROD, "eu-west-3"],
] as const;

const images = new Map<Mode, string>();
const sandbox = sandboxSuite(
  CONFIG,
  {
    start: "2026-11-23T01:59:00Z",
    customSlrAccounts: ["prod"],
    distributionModes: Object.fromEntries(
      Object.entries(MODES).map(([mode, name]) => [name, mode as Mode]),
    ),
  },
  async ({ world, handlers, lambda }) => {
    world.clock.advanceTo("2026-11-23T02:00:00.000Z");
    for (const name of Object.values(MODES)) {
      await handlers.startPipelines(
        { pipeline: name, scheduledTime: "2026-11-23T02:00:00.000Z" },
        fakeContext("start-pipelines"),
      );
    }
    await lambda.run(Date.parse("2026-11-23T05:00:00Z"));
    for (const mode of Object.keys(MODES) as Mode[])
      images.set(mode, world.imageBuilder.imagesOf(pipelineArn(mode)).at(-1)?.arn ?? "");
  },
);

const tagOf = (mode: Mode) => MODES[mode];

/** The AMI each target's groups of one pipeline now launch (their templates' versions in use). */
const launchedAmis = (mode: Mode) =>
  TARGETS.map(([accountId, region]) => {
    const amis = [...sandbox.session.world.autoScaling.groups.values()]
      .filter(
        (group) =>
          group.accountId === accountId &&
          group.region === region &&
          group.tags["ami-orchestrator:pipeline"] === tagOf(mode),
      )
      .flatMap((group) => {
        const spec =
          group.launchTemplate ??
          group.mixedInstancesPolicy?.LaunchTemplate.LaunchTemplateSpecification;
        const template = sandbox.session.world.ec2.templates.get(String(spec?.LaunchTemplateId));
        if (!template) return [];
        return [
          sandbox.session.world.ec2.resolveVersion(template, String(spec?.Version))?.data.ImageId,
        ];
      });
    return [accountId, region, [...new Set(amis)].join(",")];
  });

const amiOf = (mode: Mode, accountId: string, region: string) =>
  sandbox.session.world.imageBuilder.images
    .get(images.get(mode) ?? "")
    ?.amis.find((ami) => ami.accountId === accountId && ami.region === region)?.image;

/** A pipeline's grants as `<created from> <grantee> <key owner>`. */
const grantsOf = async (mode: Mode) => {
  const lines: string[] = [];
  for (const [accountId, region] of TARGETS) {
    const target = await getTarget(
      sandbox.session.dynamo.db,
      sandbox.session.dynamo.table,
      images.get(mode) ?? "",
      {
        accountId,
        region,
      },
    );
    for (const grant of target?.grants ?? []) {
      const live = sandbox.session.world.kms
        .grantsOn(grant.keyArn)
        .find((candidate) => candidate.grantId === grant.grantId);
      lines.push(`${live?.createdBy} ${live?.granteePrincipal} ${grant.keyArn.split(":")[4]}`);
    }
  }
  return lines.sort();
};

const succeeded = async (mode: Mode) => {
  const record = await getRollout(
    sandbox.session.dynamo.db,
    sandbox.session.dynamo.table,
    images.get(mode) ?? "",
  );
  assert.equal(record?.status, "succeeded", record?.reason);
  assert.deepEqual(record?.targetsWithoutAmi, []);
};

describe("an AMI shared by launch permission (userIds), in the sandbox", () => {
  it("Image Builder lists only the build account's AMIs; their snapshots are read as the build account", () => {
    const image = sandbox.session.world.imageBuilder.images.get(images.get("share") ?? "");
    assert.deepEqual(
      image?.amis.map((ami) => `${ami.accountId}/${ami.region}`),
      [`${BUILD}/eu-west-1`, `${BUILD}/eu-west-3`],
    );
    const shared = new Set(image?.amis.map((ami) => ami.image));
    const snapshots = new Set(
      [...sandbox.session.world.ec2.images.values()]
        .filter((ami) => shared.has(ami.imageId))
        .flatMap((ami) => ami.snapshotIds),
    );
    const describes = sandbox.session.world
      .callsTo("ec2:DescribeSnapshots")
      .filter((call) => (call.input.SnapshotIds as string[]).some((id) => snapshots.has(id)));
    assert.ok(describes.length > 0);
    assert.ok(describes.every((call) => call.accountId === BUILD && !call.error));
  });

  it("rolls out to every configured target, each launching the build account's AMI of its region", async () => {
    assert.deepEqual(launchedAmis("share"), [
      [DEV, "eu-west-1", amiOf("share", BUILD, "eu-west-1")],
      [PROD, "eu-west-1", amiOf("share", BUILD, "eu-west-1")],
      [PROD, "eu-west-3", amiOf("share", BUILD, "eu-west-3")],
    ]);
    await succeeded("share");
    const prod = await getTarget(
      sandbox.session.dynamo.db,
      sandbox.session.dynamo.table,
      images.get("share") ?? "",
      {
        accountId: PROD,
        region: "eu-west-3",
      },
    );
    assert.equal(prod?.sharedFrom, BUILD);
  });

  it("created each grant from the target account, for its service-linked role, on the BUILD account's key", async () => {
    assert.deepEqual(await grantsOf("share"), [
      `${DEV} ${slrArn(DEV)} ${BUILD}`,
      `${PROD} ${slrArn(PROD, "prod")} ${BUILD}`,
      `${PROD} ${slrArn(PROD, "prod")} ${BUILD}`,
    ]);
    assert.equal(sandbox.session.world.queues.deadLetter.messages.length, 0);
  });
});

describe("an AMI shared with an organizational unit, in the sandbox", () => {
  it("every configured account of the wave in each region is a target, with its grants", async () => {
    assert.deepEqual(launchedAmis("share-with-ou"), [
      [DEV, "eu-west-1", amiOf("share-with-ou", BUILD, "eu-west-1")],
      [PROD, "eu-west-1", amiOf("share-with-ou", BUILD, "eu-west-1")],
      [PROD, "eu-west-3", amiOf("share-with-ou", BUILD, "eu-west-3")],
    ]);
    assert.equal((await grantsOf("share-with-ou")).length, 3);
    await succeeded("share-with-ou");
  });
});

describe("a mixed distribution (copies and a launch permission), in the sandbox", () => {
  it("targets with a copy launch it; the one shared with launches the build account's AMI", async () => {
    assert.deepEqual(launchedAmis("mixed"), [
      [DEV, "eu-west-1", amiOf("mixed", DEV, "eu-west-1")],
      [PROD, "eu-west-1", amiOf("mixed", BUILD, "eu-west-1")],
      [PROD, "eu-west-3", amiOf("mixed", PROD, "eu-west-3")],
    ]);
    assert.equal(amiOf("mixed", PROD, "eu-west-1"), undefined, "prod/eu-west-1 got no copy");
    // Copies and the shared AMI are all encrypted with the build account's key here.
    assert.deepEqual(await grantsOf("mixed"), [
      `${DEV} ${slrArn(DEV)} ${BUILD}`,
      `${PROD} ${slrArn(PROD, "prod")} ${BUILD}`,
      `${PROD} ${slrArn(PROD, "prod")} ${BUILD}`,
    ]);
    await succeeded("mixed");
  });
});
