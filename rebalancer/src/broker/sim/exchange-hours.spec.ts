import { expect } from "chai";
import { createExchangeHours } from "./exchange-hours.js";

const us = createExchangeHours();
const at = (iso: string) => new Date(iso);

describe("createExchangeHours (US equities by default)", () => {
  it("is open during the regular session, 09:30-16:00 New York time", () => {
    // 2025-06-24 is a Tuesday; New York is on EDT (UTC-4).
    expect(us.session("SPY", at("2025-06-24T13:30:00Z"), false)).to.deep.equal({
      symbol: "SPY",
      open: true,
    });
    expect(us.session("SPY", at("2025-06-24T19:59:59Z"), false).open).to.equal(true);
  });

  it("is closed at 16:00 and names the next morning's open", () => {
    expect(us.session("SPY", at("2025-06-24T20:00:00Z"), false)).to.deep.equal({
      symbol: "SPY",
      open: false,
      nextOpen: at("2025-06-25T13:30:00Z"),
    });
  });

  it("before the open, names the same day's open", () => {
    expect(us.session("SPY", at("2025-06-24T12:00:00Z"), false).nextOpen).to.deep.equal(
      at("2025-06-24T13:30:00Z"),
    );
  });

  it("after Friday's close, opens again on Monday", () => {
    expect(us.session("SPY", at("2025-06-27T21:00:00Z"), false).nextOpen).to.deep.equal(
      at("2025-06-30T13:30:00Z"),
    );
    expect(us.session("SPY", at("2025-06-28T15:00:00Z"), false).open).to.equal(false);
  });

  it("counts 04:00-20:00 as open when extended hours are asked for", () => {
    expect(us.session("SPY", at("2025-06-24T08:00:00Z"), true).open).to.equal(true);
    expect(us.session("SPY", at("2025-06-24T08:00:00Z"), false).open).to.equal(false);
    expect(us.session("SPY", at("2025-06-25T00:30:00Z"), true)).to.deep.include({
      open: false,
      nextOpen: at("2025-06-25T08:00:00Z"),
    });
  });

  it("follows daylight saving time: the open is 14:30 UTC in winter", () => {
    // 2025-03-09 is the Sunday New York moves from EST (UTC-5) to EDT (UTC-4).
    expect(us.session("SPY", at("2025-03-07T14:00:00Z"), false).nextOpen).to.deep.equal(
      at("2025-03-07T14:30:00Z"),
    );
    expect(us.session("SPY", at("2025-03-08T12:00:00Z"), false).nextOpen).to.deep.equal(
      at("2025-03-10T13:30:00Z"),
    );
  });

  it("skips holidays", () => {
    const hours = createExchangeHours({ holidays: ["2025-07-04"] });
    expect(hours.session("SPY", at("2025-07-04T15:00:00Z"), false)).to.deep.include({
      open: false,
      nextOpen: at("2025-07-07T13:30:00Z"),
    });
  });

  it("takes another exchange's time zone, session and days", () => {
    const london = createExchangeHours({ timeZone: "Europe/London", regular: "08:00-16:30" });
    expect(london.session("VOD", at("2025-06-24T07:30:00Z"), false).open).to.equal(true);
    expect(london.session("VOD", at("2025-06-24T15:45:00Z"), false).open).to.equal(false);
  });

  it("refuses a session that is not HH:MM-HH:MM", () => {
    expect(() => createExchangeHours({ regular: "9:30 to 16:00" })).to.throw(
      'regular session: expected "HH:MM-HH:MM" within one day, got "9:30 to 16:00"',
    );
  });
});
