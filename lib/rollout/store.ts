/**
 * The rollout store lives in lib/rollout/store/ (one file per record kind, and
 * `createRolloutStore`). This path is kept for the benchmarks and the tests that import it.
 */
export * from "./store/index.ts";
