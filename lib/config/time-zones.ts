/**
 * IANA time-zone helpers built on Intl, so there is no tz database to ship or keep up to date:
 * Node's ICU is the same one Lambda runs.
 */

const IANA_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** True for names EventBridge Scheduler accepts (`Europe/Paris`, `UTC`), false for offsets and typos. */
export const isIanaTimeZone = (name: string): boolean => {
  if (!IANA_SHAPE.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
};

const formatters = new Map<string, Intl.DateTimeFormat>();

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (Paris in winter: +3600000). */
export const timeZoneOffsetMs = (instant: number, timeZone: string): number => {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(new Date(instant))
      .filter((part) => part.type !== "literal")
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<string, number>;
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - (instant - (instant % 1000));
};

/** The instant at which the local wall-clock time `y-m-d hh:mm` happens in `timeZone`. */
export const zonedTimeToInstant = (
  local: { year: number; month: number; day: number; hour?: number; minute?: number },
  timeZone: string,
): number => {
  const wallAsUtc = Date.UTC(
    local.year,
    local.month - 1,
    local.day,
    local.hour ?? 0,
    local.minute ?? 0,
  );
  // Two passes settle the offset even when the first guess lands across a DST change.
  const first = wallAsUtc - timeZoneOffsetMs(wallAsUtc, timeZone);
  return wallAsUtc - timeZoneOffsetMs(first, timeZone);
};
