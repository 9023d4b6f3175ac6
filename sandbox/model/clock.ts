import type { Clock } from "../../lib/aws/clock.ts";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/**
 * Simulated time for the sandbox: AWS-side processes (builds, refreshes) are timers on this
 * clock and advance only when a scenario says so, so a 40-minute build takes no real time and
 * every run is the same. It models no AWS API itself: the durations it schedules are chosen by
 * the service models, which cite their sources (e.g. KMS grants "usually less than five
 * minutes" to propagate, KMS developer guide, grants; instance refresh phases, EC2 Auto
 * Scaling user guide, asg-instance-refresh).
 */
export class SimClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start: string | number) {
    this.#now = typeof start === "number" ? start : Date.parse(start);
  }

  now(): number {
    return this.#now;
  }

  iso(): string {
    return new Date(this.#now).toISOString();
  }

  /** Runs `run` when simulated time reaches `now + delayMs`. */
  after(delayMs: number, run: () => void): void {
    this.#timers.push({ at: this.#now + delayMs, seq: this.#seq++, run });
  }

  /** Moves time forward, firing due timers in order (timers may schedule further timers). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.run();
    }
    this.#now = target;
  }

  /** Sets time to an absolute instant (never backwards), firing what falls due on the way. */
  advanceTo(instant: string | number): void {
    const target = typeof instant === "number" ? instant : Date.parse(instant);
    this.advance(Math.max(0, target - this.#now));
  }

  /** When the next timer fires, if any. */
  nextTimerAt(): number | undefined {
    return this.#timers.reduce<number | undefined>(
      (earliest, timer) => (earliest === undefined || timer.at < earliest ? timer.at : earliest),
      undefined,
    );
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }
}
