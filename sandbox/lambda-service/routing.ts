import { EventBridgeModel, isRuleEnabled, type SandboxRule } from "../model/eventbridge.ts";
import type { SandboxWorld } from "../model/world.ts";

/**
 * Which events EventBridge delivers to which function, as deployed. When `functionArn` is set, a
 * target account's event reaches a function only through an ENABLED rule of its own account and
 * region that forwards it to the orchestrator's default bus (templates/target-account-role.yml),
 * then an ENABLED rule there that targets the function (serverless.yml); and the 5-minute poll
 * runs only while its schedule rule is enabled. Unset: every event is delivered.
 */
export class EventRouting {
  /** Each function's ARN (session.ts names them as the stack does). */
  functionArn: ((functionName: string) => string) | undefined;
  /** Events EventBridge did not deliver for want of a rule, and why. */
  readonly unroutedEvents: Array<{ event: unknown; reason: string }> = [];

  constructor(private readonly world: SandboxWorld) {}

  /** Whether the event reaches the function; if not, recorded in `unroutedEvents` with why. */
  routed(event: Record<string, unknown>, functionName: string): boolean {
    if (!this.functionArn) return true;
    const { events, orchestratorAccountId: account, orchestratorRegion: region } = this.world;
    const bus = EventBridgeModel.busArn(account, region);
    const [source, sourceRegion] = [String(event.account), String(event.region)];
    const unrouted = (reason: string) => {
      this.unroutedEvents.push({ event, reason });
      return false;
    };
    if (!events.targetsFor(source, sourceRegion, event).some((target) => target.Arn === bus))
      return unrouted(`no enabled rule in ${source}/${sourceRegion} forwards it to ${bus}`);
    const arn = this.functionArn(functionName);
    if (!events.targetsFor(account, region, event).some((target) => target.Arn === arn))
      return unrouted(`no enabled rule on ${bus} sends it to ${arn}`);
    return true;
  }

  /** watch-rollouts' schedule rule (serverless.yml `schedule`), when it is there and enabled. */
  pollRule(): SandboxRule | undefined {
    return this.world.events
      .rulesIn(this.world.orchestratorAccountId, this.world.orchestratorRegion)
      .find(
        (rule) =>
          isRuleEnabled(rule.state) &&
          rule.scheduleExpression !== undefined &&
          rule.targets.some((target) => this.isWatchRollouts(target.Arn)),
      );
  }

  isWatchRollouts(arn: string): boolean {
    const ours = this.functionArn?.("watch-rollouts");
    return ours ? arn === ours : arn.endsWith("-watch-rollouts");
  }
}
