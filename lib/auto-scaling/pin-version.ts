import {
  type AutoScalingClient,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import type { DiscoveredGroup } from "./groups.ts";
import { configurationWithVersion } from "./instance-refresh.ts";

/** `$Latest` and `$Default`: references that follow the template instead of naming a version. */
export const isFloatingVersion = (version: string | undefined): version is "$Latest" | "$Default" =>
  version === "$Latest" || version === "$Default";

/**
 * Points the group at `version` of its launch template (a number, `$Latest` or `$Default`),
 * keeping everything else, including a mixed instances policy whole. UpdateAutoScalingGroup
 * replaces no instance: it only changes what the next launch uses.
 *
 * Why: auto-rollback is refused while the group itself uses `$Latest` or `$Default` ("The rollback
 * option is not available if the Auto Scaling group is configured to use the $Latest or $Default
 * launch template version", EC2 Auto Scaling user guide, instance-refresh-rollback;
 * RefreshPreferences.AutoRollback in the API reference). Pinning the group to the version it runs
 * now makes a rollback return exactly there.
 */
export const pointGroupAtVersion = async (
  client: AutoScalingClient,
  group: DiscoveredGroup,
  launchTemplateId: string,
  version: string,
  /** Override AMIs to swap (old → new), as in the refresh's desired configuration. */
  images?: ReadonlyMap<string, string>,
): Promise<void> => {
  await client.send(
    new UpdateAutoScalingGroupCommand({
      AutoScalingGroupName: group.name,
      ...configurationWithVersion(group, launchTemplateId, version, images),
    }),
  );
};
