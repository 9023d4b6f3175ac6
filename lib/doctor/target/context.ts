import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { TargetClients } from "../../aws/target-clients.ts";
import type { AccountConfig, PipelineConfig } from "../../config/schema.ts";
import type { RolloutTarget } from "../../rollout/plan.ts";

/** A target as the rollout plan has it; without an AMI when the image has none for it. */
export type PlannedTarget = Omit<RolloutTarget, "amiId"> & { amiId?: string };

/** The tag a target role deployed with RequireManagedTag=true (the default) requires. */
export const MANAGED_TAG = "ami-orchestrator:managed";

/** What every step of one target's checks works with. */
export interface TargetContext {
  readonly target: PlannedTarget;
  readonly account: AccountConfig;
  readonly pipeline: PipelineConfig;
  readonly clients: TargetClients;
  readonly region: string;
  readonly accountId: string;
  /** The target role, whose permissions are simulated. */
  readonly roleArn: string;
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
  readonly iam: IAMClient;
}
