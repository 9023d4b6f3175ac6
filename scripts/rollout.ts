/**
 * Operator commands for rollouts (lib/operator/rollout-command.ts; `--help` for the usage):
 *
 *   npm run rollout -- status [<pipeline>...] [--mismatches]    latest rollouts, per target and group
 *   npm run rollout -- approve <pipeline> <wave> [--rollout <name>]
 *   npm run rollout -- rollback <pipeline>
 *
 * Each takes --stage and --region (defaults: serverless.yml's, as `npx serverless deploy`), finds
 * the stack ami-orchestrator-<stage> there and reads the table and function from its outputs.
 * docs/operating.md says what each needs.
 */
import { runRollout } from "../lib/operator/rollout-command.ts";
import { operatorDeps } from "./operator-deps.ts";

process.exitCode = await runRollout(process.argv.slice(2), operatorDeps());
