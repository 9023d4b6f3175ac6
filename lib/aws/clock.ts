/** Time as a dependency, so tests and the sandbox control it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
