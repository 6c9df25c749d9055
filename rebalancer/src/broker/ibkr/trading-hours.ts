// IB's tradingHours / liquidHours strings as time windows. Two forms exist:
//   "20250624:0930-20250624:1600;20250625:CLOSED"   (current: end carries its own date)
//   "20090507:0700-1830,1830-2330;20090508:CLOSED"  (older: ranges within one day)
// Times are wall-clock times in the contract's timeZoneId.

import { zonedTimeToUtc, type WallTime } from "./zoned-time.js";

/** A span when the market is open: start inclusive, end exclusive. */
export interface TradingWindow {
  start: Date;
  end: Date;
}

/** Parses an hours string in `timeZone`. Throws on text it does not understand. */
export function parseTradingHours(hours: string, timeZone: string): TradingWindow[] {
  const windows: TradingWindow[] = [];
  for (const day of hours.split(";").map((d) => d.trim())) {
    if (day === "" || day.endsWith(":CLOSED")) continue;
    const date = /^(\d{8}):/.exec(day)?.[1];
    if (!date) throw new Error(`unreadable trading hours "${day}"`);
    for (const range of day.slice(date.length + 1).split(",")) {
      const [from, to] = range.split("-");
      const start = wallTime(from.includes(":") ? from : `${date}:${from}`, day);
      const end = wallTime(to?.includes(":") ? to : `${date}:${to}`, day);
      const window = { start: zonedTimeToUtc(start, timeZone), end: zonedTimeToUtc(end, timeZone) };
      // An old-style range past midnight ("1800-0200") ends on the next day.
      if (window.end <= window.start) window.end = new Date(window.end.getTime() + 86_400_000);
      windows.push(window);
    }
  }
  return windows.sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** Whether `at` is inside a window and, when it is not, when the next one starts. */
export function sessionAt(windows: TradingWindow[], at: Date): { open: boolean; nextOpen?: Date } {
  if (windows.some((w) => w.start <= at && at < w.end)) return { open: true };
  return { open: false, nextOpen: windows.find((w) => w.start > at)?.start };
}

function wallTime(text: string, context: string): WallTime {
  const match = /^(\d{4})(\d{2})(\d{2}):(\d{2})(\d{2})$/.exec(text ?? "");
  if (!match) throw new Error(`unreadable trading hours "${context}"`);
  const [year, month, day, hour, minute] = match.slice(1).map(Number);
  return { year, month, day, hour, minute };
}
