import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { activeFreezeWindow, resolveFreezeWindow } from "../../../lib/config/freeze-windows.ts";
import { isIanaTimeZone, zonedTimeToInstant } from "../../../lib/config/time-zones.ts";

const at = (iso: string) => Date.parse(iso);

describe("freeze windows", () => {
  const yearEnd = { from: "2026-12-21", to: "2027-01-03", reason: "year-end" };

  it("covers whole local days, the last one included", () => {
    const window = resolveFreezeWindow(yearEnd, "Europe/Paris");
    assert.equal(new Date(window.start).toISOString(), "2026-12-20T23:00:00.000Z");
    assert.equal(new Date(window.end).toISOString(), "2027-01-03T23:00:00.000Z");
  });

  it("finds the window in force at an instant, and none just outside", () => {
    assert.equal(
      activeFreezeWindow([yearEnd], at("2027-01-03T22:59:59Z"), "Europe/Paris")?.reason,
      "year-end",
    );
    assert.equal(
      activeFreezeWindow([yearEnd], at("2027-01-03T23:00:00Z"), "Europe/Paris"),
      undefined,
    );
    assert.equal(
      activeFreezeWindow([yearEnd], at("2026-12-20T22:59:59Z"), "Europe/Paris"),
      undefined,
    );
  });

  it("prefers the window's own time zone over the default", () => {
    const window = resolveFreezeWindow(
      { ...yearEnd, timezone: "America/New_York" },
      "Europe/Paris",
    );
    assert.equal(new Date(window.start).toISOString(), "2026-12-21T05:00:00.000Z");
  });

  it("takes timestamps with offsets as written", () => {
    const window = resolveFreezeWindow(
      { from: "2026-11-27T18:00:00+01:00", to: "2026-11-30T08:00:00+01:00" },
      "UTC",
    );
    assert.equal(new Date(window.start).toISOString(), "2026-11-27T17:00:00.000Z");
    assert.equal(new Date(window.end).toISOString(), "2026-11-30T07:00:00.000Z");
  });

  it("handles days that DST makes 23 or 25 hours long", () => {
    // Paris springs forward on 2026-03-29 and falls back on 2026-10-25.
    const spring = resolveFreezeWindow({ from: "2026-03-29", to: "2026-03-29" }, "Europe/Paris");
    assert.equal(spring.end - spring.start, 23 * 3600_000);
    const autumn = resolveFreezeWindow({ from: "2026-10-25", to: "2026-10-25" }, "Europe/Paris");
    assert.equal(autumn.end - autumn.start, 25 * 3600_000);
  });
});

describe("time zones", () => {
  it("accepts IANA names and rejects offsets and typos", () => {
    for (const zone of ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT+1"]) {
      assert.ok(isIanaTimeZone(zone), zone);
    }
    for (const zone of ["Europe/Pariss", "+01:00", "", "Paris", "UTC+1"])
      assert.ok(!isIanaTimeZone(zone), zone);
  });

  it("converts local wall-clock time to an instant", () => {
    assert.equal(
      new Date(
        zonedTimeToInstant({ year: 2026, month: 7, day: 1, hour: 3 }, "Europe/Paris"),
      ).toISOString(),
      "2026-07-01T01:00:00.000Z",
    );
  });
});
