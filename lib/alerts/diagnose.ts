import { type CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  GetImageCommand,
  type ImagebuilderClient,
  ListWorkflowExecutionsCommand,
  ListWorkflowStepExecutionsCommand,
} from "@aws-sdk/client-imagebuilder";
import { errorMessage } from "../errors.ts";
import { TAG } from "../pipelines/names.ts";
import { changedComponents } from "./changed-components.ts";
import { redactLines, redactSecrets } from "./redact.ts";
import type { BuildDiagnosis } from "./types.ts";

export interface DiagnoseDeps {
  readonly imageBuilder: ImagebuilderClient;
  readonly logs: CloudWatchLogsClient;
  /** Per lookup; a slow API degrades the alert, it never delays it much. */
  readonly timeoutMs?: number;
  readonly maxLogLines?: number;
}

/** Aborts the call after `ms`, and stops waiting for it even if the abort is not honoured. */
const withTimeout = async <T>(ms: number, run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([run(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Explains a failed build: Image Builder's reason, the workflow step that failed and its
 * message, the last lines of the build's log stream (secrets redacted), the commit the build
 * was started for (the image's tags) and the recipe's components that changed since the
 * pipeline's last AVAILABLE image. Each lookup is best-effort: what could not be found is
 * listed, and the alert goes out regardless.
 */
export const diagnoseBuildFailure = async (
  imageArn: string,
  deps: DiagnoseDeps,
  options: { readonly pipelineArn?: string } = {},
): Promise<BuildDiagnosis> => {
  const timeoutMs = deps.timeoutMs ?? 3000;
  const unavailable: string[] = [];
  const attempt = async <T>(what: string, run: (signal: AbortSignal) => Promise<T>) => {
    try {
      return await withTimeout(timeoutMs, run);
    } catch (error) {
      unavailable.push(`${what} (${errorMessage(error)})`);
      return undefined;
    }
  };

  const image = await attempt("GetImage", (abortSignal) =>
    deps.imageBuilder.send(new GetImageCommand({ imageBuildVersionArn: imageArn }), {
      abortSignal,
    }),
  );
  // `state.failureContext` is in the current API reference, but the SDK client on our registry
  // does not know it and drops it from responses: the failing step comes from the workflow steps.
  const state = image?.image?.state;
  let failedStep: string | undefined;
  let stepMessage: string | undefined;

  const executions = await attempt("workflow executions", (abortSignal) =>
    deps.imageBuilder.send(new ListWorkflowExecutionsCommand({ imageBuildVersionArn: imageArn }), {
      abortSignal,
    }),
  );
  const failedExecution = executions?.workflowExecutions?.find(
    (execution) => execution.status === "FAILED",
  );
  if (failedExecution?.workflowExecutionId) {
    const steps = await attempt("workflow steps", (abortSignal) =>
      deps.imageBuilder.send(
        new ListWorkflowStepExecutionsCommand({
          workflowExecutionId: failedExecution.workflowExecutionId,
        }),
        { abortSignal },
      ),
    );
    const failed = steps?.steps?.find((step) => step.status === "FAILED");
    failedStep = failed?.name;
    stepMessage = failed?.message ?? failedExecution.message;
  }

  // Image Builder logs each build to the image's loggingConfiguration.logGroupName, by default
  // /aws/imagebuilder/<image name> (API model ImageLoggingConfiguration), stream
  // <version>/<build>. The name is the recipe's as written: the ARN's is lowercased, so it is
  // only the fallback when GetImage could not be read.
  const [, arnName, version, build] =
    imageArn.split(":image/")[1]?.match(/^([^/]+)\/([^/]+)\/(\d+)$/) ?? [];
  const imageName = image?.image?.name ?? arnName;
  const logGroup =
    image?.image?.loggingConfiguration?.logGroupName ??
    (imageName ? `/aws/imagebuilder/${imageName}` : undefined);
  const logStream = version && build ? `${version}/${build}` : undefined;
  let logExcerpt: string[] | undefined;
  if (logGroup && logStream) {
    const events = await attempt("build log", (abortSignal) =>
      deps.logs.send(
        new GetLogEventsCommand({
          logGroupName: logGroup,
          logStreamName: logStream,
          limit: deps.maxLogLines ?? 20,
          startFromHead: false,
        }),
        { abortSignal },
      ),
    );
    // Redacted as one text before the cut, so a private key spanning lines (or one whose
    // BEGIN line falls outside the excerpt) is masked whole.
    const lines = events?.events?.flatMap((event) =>
      event.message ? event.message.trimEnd().split("\n") : [],
    );
    logExcerpt = lines ? redactLines(lines).slice(-(deps.maxLogLines ?? 20)) : undefined;
  }
  // Which commit, and what changed since the last good image: where to look first.
  const tags = image?.image?.tags ?? {};
  const commit = tags[TAG.commit] ?? image?.image?.imageRecipe?.tags?.[TAG.commit];
  const ref = tags[TAG.commit] ? tags[TAG.ref] : undefined;
  const pipelineArn = options.pipelineArn ?? image?.image?.sourcePipelineArn;
  const changes =
    image?.image && pipelineArn
      ? await attempt("components changed since the last AVAILABLE image", (abortSignal) =>
          changedComponents(
            deps.imageBuilder,
            {
              imageArn,
              pipelineArn,
              ...(image.image?.imageRecipe ? { recipe: image.image.imageRecipe } : {}),
            },
            { abortSignal },
          ),
        )
      : undefined;
  // Image Builder's reason quotes the failing component's output: redacted like the log.
  const reason = state?.reason ? redactSecrets(state.reason) : undefined;
  return {
    ...(commit
      ? { commit: commit.slice(0, 256), commitOf: tags[TAG.commit] ? "build" : "definitions" }
      : {}),
    ...(ref ? { ref: ref.slice(0, 256) } : {}),
    ...(changes ? { changes } : {}),
    ...(reason ? { reason } : {}),
    ...(failedStep ? { failedStep } : {}),
    ...(stepMessage ? { stepMessage: redactSecrets(stepMessage) } : {}),
    ...(logGroup ? { logGroup } : {}),
    ...(logStream ? { logStream } : {}),
    ...(logExcerpt?.length ? { logExcerpt } : {}),
    ...(unavailable.length > 0 ? { unavailable } : {}),
  };
};
