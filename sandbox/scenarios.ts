import type { OrchestratorConfig } from "../lib/config/schema.ts";
import { accessDenied, THROTTLING } from "./model/faults.ts";
import type { SandboxSession } from "./session.ts";

/** One fault scenario for `npm start -- --scenario <name>`: what it shows, and how to cause it. */
export interface Scenario {
  readonly description: string;
  readonly inject: (session: SandboxSession, accounts: { first: string; second: string }) => void;
  /** A scenario that tells its own story instead of the main one's; returns the exit status. */
  readonly standalone?: (config: OrchestratorConfig) => Promise<number>;
}

export const SCENARIOS: Record<string, Scenario> = {
  doctor: {
    description:
      "npm run doctor before the first rollout: a healthy deployment all ✓, then planted faults (key policy, managed tag, service-linked roles, a region not forwarding, a role without ec2:CreateTags for tagging templates, a group on a launch configuration, an unconfirmed alert email; with three accounts, an ExternalId) each diagnosed with its fix, with zero mutating calls",
    inject: () => {},
    standalone: async (config) => {
      const { sandboxDoctorSession } = await import("./doctor.ts");
      const { renderDoctorReport } = await import("../lib/doctor/render.ts");
      const sandbox = await sandboxDoctorSession(config);
      try {
        const healthy = await sandbox.doctor();
        console.log("npm run doctor -- --sandbox, on the deployment as set up:");
        console.log(renderDoctorReport(healthy.report).split("\n").at(-1));
        const planted = sandbox.plantFaults();
        const faulty = await sandbox.doctor();
        console.log(`\nthe same deployment with planted faults:\n  - ${planted.join("\n  - ")}\n`);
        console.log(renderDoctorReport(faulty.report));
        console.log(
          `\nmutating calls made by the doctor: ${healthy.mutatingCalls + faulty.mutatingCalls}`,
        );
        return healthy.report.ok && !faulty.report.ok ? 0 : 1;
      } finally {
        await sandbox.close();
      }
    },
  },
  "launch-failure": {
    description:
      "a grant revoked after a rollout: a month later the group's scale-outs fail with Client.InternalError; explain-launch-failure names the missing grant, recreates it, alerts once, and the next launch succeeds",
    inject: () => {},
    standalone: async (config) =>
      (await import("./launch-failure-scenario.ts")).launchFailureScenario(config),
  },
  "group-shapes": {
    description:
      "groups as real fleets have them: an attribute-based group (updated, then refreshed without a desired configuration), a multi-architecture group (its x86 override gets the new AMI, another team's arm64 override is left alone), a group whose arm64 override the new AMI cannot serve (reported, not rolled), and another team's refresh in flight (cancelled, as configured)",
    inject: () => {},
    standalone: async (config) => (await import("./group-shapes.ts")).groupShapesScenario(config),
  },
  "pipelines-as-code": {
    description:
      "image definitions in git: a component edited in a commit is validated, planned and deployed by a CloudFormation change set, built once (a re-run of the job starts nothing), rolled out in waves with the commit in rollout status; a broken component is refused with file:line:col before anything deploys; a failing build's alert names the commit and the changed component",
    inject: () => {},
    standalone: async (config) =>
      (await import("./pipelines-as-code.ts")).pipelinesAsCodeScenario(config),
  },
  throttling: {
    description:
      "every target-account service throttles its first calls: the SDK's adaptive retry absorbs them",
    inject: ({ world }) => {
      for (const service of ["sts", "autoscaling", "ec2", "kms"])
        world.faults.add({ service, error: THROTTLING, times: 2 });
    },
  },
  "access-denied": {
    description:
      "the second account's role does not trust the orchestrator: that target fails with a hint, the rollout fails and alerts",
    inject: ({ world }, { second }) => {
      world.faults.add({
        service: "sts",
        operation: "AssumeRole",
        when: (call) => String(call.input.RoleArn).includes(second),
        error: accessDenied("sts:AssumeRole"),
      });
    },
  },
  "grant-refused": {
    description:
      "the key policy does not let the first account create grants: the alert names the statement to add",
    inject: ({ world }, { first }) => {
      // Keys appear with the first distributed image; take the account out of their policies then.
      world.imageBuilder.onImageStateChange((image) => {
        if (image.status !== "AVAILABLE") return;
        for (const key of world.kms.keys.values()) key.allowedAccounts.delete(first);
      });
    },
  },
  "lost-events": {
    description:
      "EventBridge loses every instance-refresh event: the 5-minute poll still moves the waves",
    inject: ({ lambda }) => {
      lambda.refreshEventFate = () => "lost";
    },
  },
  "refresh-in-progress": {
    description:
      "another team's instance refresh is running on the groups: the orchestrator waits its turn",
    inject: ({ world }) => {
      world.faults.add({
        service: "autoscaling",
        operation: "StartInstanceRefresh",
        error: {
          name: "InstanceRefreshInProgressFault",
          message: "An Instance Refresh is already in progress",
        },
        times: 3,
      });
    },
  },
  "slack-down": {
    description:
      "a rollout fails while Slack answers 503: the email goes out at once, Slack once it recovers",
    inject: (session, accounts) => {
      session.slack.script(...Array.from({ length: 8 }, () => ({ status: 503 })));
      SCENARIOS["access-denied"]?.inject(session, accounts);
    },
  },
};

const USAGE = "usage: npm start [-- --verbose] [-- --scenario <name>]";

/** The known scenarios, one line each, for the usage text. */
const scenarioList = (): string =>
  Object.entries(SCENARIOS)
    .map(([name, scenario]) => `  ${name.padEnd(20)} ${scenario.description}`)
    .join("\n");

/**
 * What `npm start -- --scenario <name>` asks for: the story (no name), a scenario, or the usage
 * text: asked for (`--help`, `--scenario list`: stdout, exit 0), or for a name no scenario has
 * (stderr, exit 2, the name and the known ones).
 */
export const scenarioRequest = (
  name: string | undefined,
  help = false,
):
  | { readonly run: true; readonly scenario?: string }
  | { readonly run: false; readonly text: string; readonly exitCode: 0 | 2 } => {
  if (help || name === "list")
    return { run: false, text: `${USAGE}\n\nscenarios:\n${scenarioList()}`, exitCode: 0 };
  if (name === undefined) return { run: true };
  if (!Object.hasOwn(SCENARIOS, name))
    return {
      run: false,
      text: `unknown scenario "${name}"; the known ones:\n${scenarioList()}\n\n${USAGE}`,
      exitCode: 2,
    };
  return { run: true, scenario: name };
};
