/**
 * Validation of AWS six-field cron expressions, as accepted by EventBridge Scheduler and
 * Image Builder: `minutes hours day-of-month month day-of-week year`.
 * We check at config time what AWS would only reject at deploy time (or worse, accept and
 * never fire), and say which field is wrong.
 */

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** `?` allowed (day-of-month and day-of-week only). */
  readonly question?: boolean;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: readonly FieldSpec[] = [
  { name: "minutes", min: 0, max: 59 },
  { name: "hours", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31, question: true },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 1, max: 7, names: DAYS, question: true },
  { name: "year", min: 1970, max: 2199 },
];

export class CronSyntaxError extends Error {
  override name = "CronSyntaxError";
}

/** Strips an optional `cron(...)` wrapper and normalises whitespace. */
export const cronBody = (expression: string): string => {
  const trimmed = expression.trim();
  const wrapped = /^cron\((.*)\)$/s.exec(trimmed);
  return (wrapped?.[1] ?? trimmed).trim().replace(/\s+/g, " ");
};

const parseValue = (raw: string, spec: FieldSpec): number => {
  const upper = raw.toUpperCase();
  const byName = spec.names?.indexOf(upper) ?? -1;
  if (byName >= 0) return byName + 1;
  if (!/^\d+$/.test(raw)) {
    throw new CronSyntaxError(
      `${spec.name}: "${raw}" is not a number${spec.names ? ` or a name (${spec.names[0]}-${spec.names.at(-1)})` : ""}`,
    );
  }
  const value = Number(raw);
  if (value < spec.min || value > spec.max) {
    throw new CronSyntaxError(`${spec.name}: ${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
};

const checkItem = (item: string, spec: FieldSpec): void => {
  // Special day forms: L, LW, 15W (day-of-month); 6L, 2#3 (day-of-week).
  if (spec.name === "day-of-month" && (item === "L" || item === "LW")) return;
  if (spec.name === "day-of-month" && /^\d+W$/.test(item)) {
    parseValue(item.slice(0, -1), spec);
    return;
  }
  if (spec.name === "day-of-week") {
    if (item === "L") return;
    const last = /^(\w+)L$/.exec(item);
    if (last?.[1] !== undefined) {
      parseValue(last[1], spec);
      return;
    }
    const nth = /^(\w+)#(\d)$/.exec(item);
    if (nth?.[1] !== undefined && nth[2] !== undefined) {
      parseValue(nth[1], spec);
      const n = Number(nth[2]);
      if (n < 1 || n > 5) throw new CronSyntaxError(`${spec.name}: "#${n}" must be 1-5`);
      return;
    }
  }
  const [base = "", step, ...rest] = item.split("/");
  if (rest.length > 0) throw new CronSyntaxError(`${spec.name}: "${item}" has more than one "/"`);
  if (step !== undefined) {
    if (!/^\d+$/.test(step) || Number(step) < 1) {
      throw new CronSyntaxError(
        `${spec.name}: step "${step}" in "${item}" must be a positive integer`,
      );
    }
  }
  if (base === "*") return;
  const range = base.split("-");
  if (range.length > 2 || range.some((part) => part === "")) {
    throw new CronSyntaxError(`${spec.name}: "${item}" is not a value, a range or a step`);
  }
  const [from, to] = range.map((part) => parseValue(part, spec));
  if (from !== undefined && to !== undefined && from > to && spec.name !== "day-of-week") {
    throw new CronSyntaxError(`${spec.name}: range "${base}" goes backwards`);
  }
};

/**
 * The values a day-of-month, month or year field allows, or undefined when a day is a special
 * form (L, LW, 15W) whose date depends on the month.
 */
const valuesOf = (field: string, spec: FieldSpec): Set<number> | undefined => {
  const values = new Set<number>();
  for (const item of field.split(",")) {
    const [base = "", step] = item.split("/");
    if (spec.name === "day-of-month" && /[LW]/.test(base)) return undefined;
    const [from, to] =
      base === "*" ? [spec.min, spec.max] : base.split("-").map((part) => parseValue(part, spec));
    const first = from ?? spec.min;
    // `5/10` runs from 5 to the field's end; a bare value is itself.
    const last = to ?? (step === undefined ? first : spec.max);
    for (let value = first; value <= last; value += Number(step ?? 1)) values.add(value);
  }
  return values;
};

const daysInMonth = (month: number, year: number): number =>
  new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Why a syntactically valid expression can never fire, if it cannot: every listed day-of-month
 * is past the end of every listed month (`30 FEB`, `31 APR,JUN`), or it is February 29 and the
 * year field holds no leap year. AWS accepts such an expression and never runs it.
 */
const neverFiresReason = (parts: readonly string[]): string | undefined => {
  const [, , dayField = "?", monthField = "*", , yearField = "*"] = parts;
  if (dayField === "?") return undefined;
  const days = valuesOf(dayField, FIELDS[2] as FieldSpec);
  const months = valuesOf(monthField, FIELDS[3] as FieldSpec);
  const years = valuesOf(yearField, FIELDS[5] as FieldSpec);
  if (!days || !months || !years) return undefined;
  const firstDay = Math.min(...days);
  const fires = [...months].some((month) =>
    [...years].some((year) => firstDay <= daysInMonth(month, year)),
  );
  if (fires) return undefined;
  const monthNames = [...months].map((month) => MONTHS[month - 1]);
  // 2000 is a leap year: whether any month could have the day at all, whatever the year field.
  const anyYear = [...months].some((month) => firstDay <= daysInMonth(month, 2000));
  return anyYear
    ? `can never fire: FEB 29 occurs only in leap years, and year "${yearField}" has none`
    : `can never fire: day-of-month ${dayField} does not occur in ${monthNames.join(", ")}`;
};

/**
 * Returns the expression body (without `cron(...)`) if valid; throws a CronSyntaxError naming
 * the field otherwise, or saying why a valid expression can never fire.
 */
export const validateCron = (expression: string): string => {
  const body = cronBody(expression);
  const parts = body.split(" ");
  if (parts.length !== 6) {
    throw new CronSyntaxError(
      `expected 6 fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    );
  }
  parts.forEach((field, index) => {
    const spec = FIELDS[index] as FieldSpec;
    if (field === "?") {
      if (!spec.question)
        throw new CronSyntaxError(
          `${spec.name}: "?" is only allowed in day-of-month or day-of-week`,
        );
      return;
    }
    for (const item of field.split(",")) {
      if (item === "") throw new CronSyntaxError(`${spec.name}: empty item in "${field}"`);
      checkItem(item, spec);
    }
  });
  const dayOfMonth = parts[2];
  const dayOfWeek = parts[4];
  if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
    throw new CronSyntaxError(
      `exactly one of day-of-month ("${dayOfMonth}") and day-of-week ("${dayOfWeek}") must be "?"`,
    );
  }
  const never = neverFiresReason(parts);
  if (never) throw new CronSyntaxError(never);
  return body;
};

/** The last year a valid expression's year field allows (`*` allows up to 2199). */
export const lastYear = (expression: string): number => {
  const field = cronBody(expression).split(" ")[5] ?? "*";
  const max = FIELDS[5]?.max ?? 2199;
  return Math.max(
    ...field.split(",").map((item) => {
      const [base = "*", step] = item.split("/");
      const [from, to] = base === "*" ? [FIELDS[5]?.min ?? 1970, max] : base.split("-").map(Number);
      const start = from ?? max;
      const end = to ?? (step === undefined ? start : max);
      return step === undefined
        ? end
        : start + Math.floor((end - start) / Number(step)) * Number(step);
    }),
  );
};

/**
 * Why a schedule can never fire again at `now`, if it cannot: its year field ends before the
 * current year in the schedule's time zone. A year that is still current is accepted even when
 * its remaining days do not match (a coarser check: it fires again or is caught next January).
 */
export const staleCronReason = (
  expression: string,
  timeZone: string,
  now: number,
): string | undefined => {
  const year = Number(
    new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric" }).format(new Date(now)),
  );
  const last = lastYear(expression);
  return last < year
    ? `can never fire again: its year field ends in ${last}, and it is ${year} in ${timeZone}`
    : undefined;
};
