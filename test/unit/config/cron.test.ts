import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { CronSyntaxError, validateCron } from "../../../lib/config/cron.ts";

describe("validateCron", () => {
  it("accepts the AWS six-field forms users write", () => {
    for (const expression of [
      "0 3 ? * MON *",
      "cron(0 3 ? * MON *)",
      "30 2 1 * ? *",
      "0/15 * * * ? *",
      "0 8-18 ? * MON-FRI *",
      "0 3 L * ? *",
      "0 3 15W * ? *",
      "0 3 ? * 6L *",
      "0 3 ? * 2#1 2026-2030",
      "5,35 14 ? JAN,JUL * *",
    ]) {
      assert.doesNotThrow(() => validateCron(expression), expression);
    }
  });

  it("strips the cron() wrapper and extra spaces", () => {
    assert.equal(validateCron("  cron(0  3 ? * MON *) "), "0 3 ? * MON *");
  });

  const rejects: Array<[string, RegExp]> = [
    ["0 3 * * MON *", /exactly one of day-of-month .* and day-of-week .* must be "\?"/],
    ["0 3 ? * ? *", /exactly one of day-of-month/],
    ["0 3 * * ?", /expected 6 fields.*got 5/],
    ["0 3 * * * ? *", /expected 6 fields.*got 7/],
    ["60 3 ? * MON *", /minutes: 60 is outside 0-59/],
    ["0 24 ? * MON *", /hours: 24 is outside 0-23/],
    ["0 3 ? * FUNDAY *", /day-of-week: "FUNDAY" is not a number or a name/],
    ["0 3 ? 13 MON *", /month: 13 is outside 1-12/],
    ["0 3 ? * MON 1969", /year: 1969 is outside 1970-2199/],
    ["0 ? ? * MON *", /hours: "\?" is only allowed/],
    ["0/0 3 ? * MON *", /step "0"/],
    ["0 5-3 ? * MON *", /range "5-3" goes backwards/],
    ["0 3 ? * 2#6 *", /"#6" must be 1-5/],
    ["0 3,,4 ? * MON *", /empty item/],
  ];
  for (const [expression, message] of rejects) {
    it(`rejects "${expression}" and names the field`, () => {
      assert.throws(
        () => validateCron(expression),
        (error: unknown) => {
          assert.ok(error instanceof CronSyntaxError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  // A day-of-month that no listed month has (or Feb 29 when the year field has no leap year)
  // passes AWS's syntax check and then never fires: refused, saying why.
  const neverFires: Array<[string, RegExp]> = [
    ["0 3 30 2 ? *", /can never fire: day-of-month 30 does not occur in FEB/],
    ["0 3 30,31 FEB ? *", /can never fire: day-of-month 30,31 does not occur in FEB/],
    ["0 3 31 4,6,9,11 ? *", /does not occur in APR, JUN, SEP, NOV/],
    ["0 3 31 APR-JUN/2 ? *", /does not occur in APR, JUN/],
    ["0 3 31 JUN-JUL/2 ? *", /does not occur in JUN$/],
    [
      "0 3 29 2 ? 2027",
      /can never fire: FEB 29 occurs only in leap years, and year "2027" has none/,
    ],
    ["0 3 29 FEB ? 2025-2027", /year "2025-2027" has none/],
    // 2100 is not a leap year (divisible by 100, not by 400).
    ["0 3 29 2 ? 2100", /year "2100" has none/],
    ["0 3 29 2 ? 2101/4", /year "2101\/4" has none/],
  ];
  for (const [expression, message] of neverFires) {
    it(`rejects "${expression}", which can never fire`, () => {
      assert.throws(
        () => validateCron(expression),
        (error: unknown) => {
          assert.ok(error instanceof CronSyntaxError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it("accepts a day that at least one listed month (and year) has", () => {
    for (const expression of [
      "0 3 30 * ? *",
      "0 3 31 1-2 ? *",
      "0 3 30,31 FEB,MAR ? *",
      "0 3 29 2 ? *",
      "0 3 29 2 ? 2028",
      "0 3 29 2 ? 2100-2104",
      "0 3 1/10 2 ? *", // 1, 11, 21 exist; 31 does not, and need not
      "0 3 L 2 ? *",
      "0 3 L * ? *",
      "0 3 LW 2 ? *",
      "0 3 ? 2 2#5 *",
    ]) {
      assert.doesNotThrow(() => validateCron(expression), expression);
    }
  });

  it("accepts every expression built from valid values (property)", () => {
    const minute = fc.integer({ min: 0, max: 59 }).map(String);
    const hour = fc.integer({ min: 0, max: 23 }).map(String);
    // Days 29-31 are not in every month: those are the "can never fire" cases above.
    const day = fc.integer({ min: 1, max: 28 }).map(String);
    const month = fc.oneof(
      fc.integer({ min: 1, max: 12 }).map(String),
      fc.constantFrom("JAN", "jun", "*"),
    );
    const weekday = fc.oneof(
      fc.integer({ min: 1, max: 7 }).map(String),
      fc.constantFrom("MON", "SUN", "*"),
    );
    const year = fc.oneof(fc.constant("*"), fc.integer({ min: 1970, max: 2199 }).map(String));
    fc.assert(
      fc.property(
        minute,
        hour,
        day,
        month,
        weekday,
        year,
        fc.boolean(),
        (mi, h, d, mo, w, y, byDay) => {
          const expression = byDay
            ? `${mi} ${h} ${d} ${mo} ? ${y}`
            : `${mi} ${h} ? ${mo} ${w} ${y}`;
          assert.equal(validateCron(expression), expression);
        },
      ),
    );
  });

  it("never throws anything but a CronSyntaxError on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          validateCron(text);
        } catch (error) {
          assert.ok(error instanceof CronSyntaxError, String(error));
        }
      }),
    );
  });
});
