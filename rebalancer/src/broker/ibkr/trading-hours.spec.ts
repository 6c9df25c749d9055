import { expect } from "chai";
import { parseTradingHours, sessionAt } from "./trading-hours.js";
import { zonedTimeToUtc } from "./zoned-time.js";

const at = (iso: string) => new Date(iso);

describe("trading hours", () => {
  const week =
    "20250620:0930-20250620:1600;20250621:CLOSED;20250622:CLOSED;20250623:0930-20250623:1600";

  it("reads each day's window in the exchange's time zone (US/Eastern in summer is UTC-4)", () => {
    const windows = parseTradingHours(week, "US/Eastern");
    expect(windows).to.deep.equal([
      { start: at("2025-06-20T13:30:00Z"), end: at("2025-06-20T20:00:00Z") },
      { start: at("2025-06-23T13:30:00Z"), end: at("2025-06-23T20:00:00Z") },
    ]);
  });

  it("follows daylight saving time: the same wall clock is an hour later in winter", () => {
    const [window] = parseTradingHours("20250115:0930-20250115:1600", "US/Eastern");
    expect(window.start).to.deep.equal(at("2025-01-15T14:30:00Z"));
    // The Monday after the March switch is already on summer time.
    const [after] = parseTradingHours("20250310:0930-20250310:1600", "America/New_York");
    expect(after.start).to.deep.equal(at("2025-03-10T13:30:00Z"));
  });

  it("is open inside a window and closed at its end", () => {
    const windows = parseTradingHours(week, "US/Eastern");
    expect(sessionAt(windows, at("2025-06-20T13:30:00Z"))).to.deep.equal({ open: true });
    expect(sessionAt(windows, at("2025-06-20T19:59:59Z"))).to.deep.equal({ open: true });
    expect(sessionAt(windows, at("2025-06-20T20:00:00Z")).open).to.equal(false);
  });

  it("gives the next open across closed days (Friday evening to Monday morning)", () => {
    const windows = parseTradingHours(week, "US/Eastern");
    expect(sessionAt(windows, at("2025-06-21T12:00:00Z"))).to.deep.equal({
      open: false,
      nextOpen: at("2025-06-23T13:30:00Z"),
    });
  });

  it("does not know a next open beyond the hours IB sent", () => {
    const windows = parseTradingHours(week, "US/Eastern");
    expect(sessionAt(windows, at("2025-06-24T12:00:00Z"))).to.deep.equal({
      open: false,
      nextOpen: undefined,
    });
  });

  it("reads the older form with several ranges a day and end times without a date", () => {
    const windows = parseTradingHours(
      "20090507:0700-1830,1830-2330;20090508:CLOSED",
      "Europe/London",
    );
    expect(windows).to.deep.equal([
      { start: at("2009-05-07T06:00:00Z"), end: at("2009-05-07T17:30:00Z") },
      { start: at("2009-05-07T17:30:00Z"), end: at("2009-05-07T22:30:00Z") },
    ]);
  });

  it("reads overnight sessions that end on the next day", () => {
    const [window] = parseTradingHours("20250623:1800-20250624:1700", "US/Central");
    expect(window).to.deep.equal({
      start: at("2025-06-23T23:00:00Z"),
      end: at("2025-06-24T22:00:00Z"),
    });
  });

  it("rejects text it does not understand and zones Intl does not know", () => {
    expect(() => parseTradingHours("Mon 09:30-16:00", "US/Eastern")).to.throw(
      /unreadable trading hours/,
    );
    expect(() => parseTradingHours("20250623:0930-20250623:1600", "Mars/Olympus")).to.throw(
      RangeError,
    );
  });

  it("converts wall-clock times in zones east of UTC", () => {
    const instant = zonedTimeToUtc(
      { year: 2025, month: 6, day: 24, hour: 9, minute: 0 },
      "Asia/Tokyo",
    );
    expect(instant).to.deep.equal(at("2025-06-24T00:00:00Z"));
  });
});
