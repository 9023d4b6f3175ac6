import { beforeEach } from "node:test";
import { AutoScalingClient, type AutoScalingGroup } from "@aws-sdk/client-auto-scaling";
import {
  DescribeImagesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import type { TargetClients } from "../../lib/aws/target-clients.ts";
import { BUILD_ACCOUNT } from "./fixtures.ts";

/**
 * A target account as the tests meet it: the accounts of `testConfig()`, the build account's key
 * that encrypts the AMI, Auto Scaling's service-linked role, a group as DescribeAutoScalingGroups
 * answers, and SDK clients whose calls aws-sdk-client-mock answers.
 */

/** The `dev` and `prod` accounts of `testConfig()` and the sandbox configs. */
export const DEV_ACCOUNT = "111111111111";
export const PROD_ACCOUNT = "222222222222";

/** A customer managed key of the build account (the id is KMS's documentation example's shape). */
export const buildKeyArn = (
  region = "eu-west-1",
  keyId = "1f2e3d4c-0000-4a5b-8c9d-111122223333",
): string => `arn:aws:kms:${region}:${BUILD_ACCOUNT}:key/${keyId}`;

/**
 * Auto Scaling's service-linked role in an account: AWSServiceRoleForAutoScaling, or with a
 * custom suffix `_<suffix>` (EC2 Auto Scaling user guide, "Service-linked roles").
 */
export const autoScalingSlrArn = (accountId: string, suffix?: string): string =>
  `arn:aws:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling${suffix ? `_${suffix}` : ""}`;

/**
 * An AutoScalingGroup as DescribeAutoScalingGroups answers it: the API model's required members
 * (their values do not matter here), then what the test says.
 */
export const describedGroup = (
  name: string,
  shape: Partial<AutoScalingGroup> = {},
): AutoScalingGroup => ({
  AutoScalingGroupName: name,
  MinSize: 0,
  MaxSize: 4,
  DesiredCapacity: 2,
  DefaultCooldown: 300,
  AvailabilityZones: [],
  HealthCheckType: "EC2",
  CreatedTime: new Date(0),
  ...shape,
});

/**
 * The target account's Auto Scaling, EC2, KMS and IAM, mocked (one `mockClient` per client,
 * reset before each test of the suite it is called in), and the `TargetClients` whose calls the
 * mocks answer. A shared AMI's owner is not reachable (`ownerEc2` answers undefined).
 */
export const mockedTargetAccount = () => {
  const mocks = {
    autoScaling: mockClient(AutoScalingClient),
    ec2: mockClient(EC2Client),
    kms: mockClient(KMSClient),
    iam: mockClient(IAMClient),
  };
  beforeEach(() => {
    for (const mock of Object.values(mocks)) mock.reset();
  });
  const clients: TargetClients = {
    autoScaling: (_account, region) => new AutoScalingClient({ region }),
    ec2: (_account, region) => new EC2Client({ region }),
    kms: (_account, region) => new KMSClient({ region }),
    iam: () => new IAMClient({ region: "eu-west-1" }),
    ownerEc2: () => undefined,
  };
  return { ...mocks, clients };
};

/**
 * The launch chain as EC2 and KMS describe it: template lt-web (named web) at `version` launches
 * `imageId`, owned by `ownerId`, whose one snapshot `keyArn` encrypts, an Enabled customer managed
 * key.
 */
export const answerLaunchChain = (
  { ec2, kms }: Pick<ReturnType<typeof mockedTargetAccount>, "ec2" | "kms">,
  chain: { version: number; imageId: string; ownerId: string; keyArn: string },
): void => {
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
    LaunchTemplateVersions: [
      {
        LaunchTemplateId: "lt-web",
        LaunchTemplateName: "web",
        VersionNumber: chain.version,
        LaunchTemplateData: { ImageId: chain.imageId },
      },
    ],
  });
  ec2.on(DescribeImagesCommand).resolves({
    Images: [
      {
        ImageId: chain.imageId,
        OwnerId: chain.ownerId,
        BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-1" } }],
      },
    ],
  });
  ec2.on(DescribeSnapshotsCommand).resolves({
    Snapshots: [{ SnapshotId: "snap-1", Encrypted: true, KmsKeyId: chain.keyArn }],
  });
  kms.on(DescribeKeyCommand).resolves({
    KeyMetadata: { KeyId: "k", Arn: chain.keyArn, KeyManager: "CUSTOMER", KeyState: "Enabled" },
  });
};
