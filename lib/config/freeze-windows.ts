import { zonedTimeToInstant } from "./time-zones.ts";

/** A change-freeze period as written in the config: dates are whole local days, inclusive. */
export interface FreezeWindow {
  readonly from: string;
  readonly to: string;
  readonly timezone?: string | undefined;
  readonly reason?: string | undefined;
}

export interface ResolvedFreezeWindow extends FreezeWindow {
  /** First frozen instant (epoch ms). */
  readonly start: number;
  /** First instant after the freeze (epoch ms). */
  readonly end: number;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Resolves one bound. A date-only bound is a local day in `timeZone` (the freeze's own, else the
 * pipeline schedule's, else UTC); a `to` date includes that whole day. A full ISO timestamp with an
 * offset is taken as written.
 */
export const freezeBoundInstant = (
  value: string,
  bound: "from" | "to",
  timeZone: string,
): number => {
  const date = DATE_ONLY.exec(value);
  if (date) {
    const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
    const startOfDay = zonedTimeToInstant({ year, month, day }, timeZone);
    if (bound === "from") return startOfDay;
    // The next local midnight, not +24h: a DST change makes some days 23 or 25 hours long.
    const next = new Date(Date.UTC(year, month - 1, day) + DAY_MS);
    return zonedTimeToInstant(
      { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() },
      timeZone,
    );
  }
  return Date.parse(value);
};

export const resolveFreezeWindow = (
  window: FreezeWindow,
  defaultTimeZone: string,
): ResolvedFreezeWindow => {
  const timeZone = window.timezone ?? defaultTimeZone;
  return {
    ...window,
    start: freezeBoundInstant(window.from, "from", timeZone),
    end: freezeBoundInstant(window.to, "to", timeZone),
  };
};

/** The first window that contains `instant`, if any. */
export const activeFreezeWindow = (
  windows: readonly FreezeWindow[],
  instant: number,
  defaultTimeZone: string,
): ResolvedFreezeWindow | undefined =>
  windows
    .map((window) => resolveFreezeWindow(window, defaultTimeZone))
    .find((window) => instant >= window.start && instant < window.end);
