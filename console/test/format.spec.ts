import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { formatCount, formatMoney, formatQuantity, formatTime } from "../src/format.js";

describe("console formats", () => {
  const time = timestampFromDate(new Date("2026-12-01T13:05:42Z"));

  it("writes times in ISO form with the zone's offset", () => {
    expect(formatTime(time, 60)).to.equal("2026-12-01 14:05 UTC+01:00");
    expect(formatTime(time, -330)).to.equal("2026-12-01 07:35 UTC-05:30");
    expect(formatTime(time, 0)).to.equal("2026-12-01 13:05 UTC");
    expect(formatTime(undefined)).to.equal("—");
  });

  it("writes counts and money with thousands separators", () => {
    expect(formatCount(1234567)).to.equal("1,234,567");
    expect(formatMoney(1234567.5)).to.equal("$1,234,567.50");
    expect(formatQuantity(12500)).to.equal("12,500");
  });
});
