import type { MarketSession } from "../broker.js";
import type { MarketHours } from "./market-hours.js";

/** Options of createExchangeHours. */
export interface ExchangeHoursOptions {
  /** IANA time zone of the exchange; default "America/New_York". */
  timeZone?: string;
  /** Regular session, local "HH:MM-HH:MM"; default "09:30-16:00". */
  regular?: string;
  /** Extended session (pre-market to post-market), local "HH:MM-HH:MM"; default "04:00-20:00". */
  extended?: string;
  /** Trading days of the week, 0 = Sunday; default Monday to Friday. */
  weekdays?: number[];
  /** Local dates ("YYYY-MM-DD") without a session; default none. */
  holidays?: string[];
}

interface LocalDay {
  year: number;
  month: number;
  day: number;
}

/** How far ahead to look for the next session: enough for any run of weekends and holidays. */
const searchDays = 30;

/**
 * A regular weekday session in an exchange's time zone, the same for every symbol; daylight
 * saving time follows the time zone. US equities by default.
 */
export function createExchangeHours(options: ExchangeHoursOptions = {}): MarketHours {
  const timeZone = options.timeZone ?? "America/New_York";
  const regularText = options.regular ?? "09:30-16:00";
  const regular = parseWindow(regularText, "regular");
  const extended = parseWindow(options.extended ?? "04:00-20:00", "extended");
  const weekdays = new Set(options.weekdays ?? [1, 2, 3, 4, 5]);
  const holidays = new Set(options.holidays ?? []);
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });

  function local(at: Date): LocalDay & { minutes: number; seconds: number } {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(at)) {
      if (p.type !== "literal") parts[p.type] = Number(p.value);
    }
    return {
      year: parts.year!,
      month: parts.month!,
      day: parts.day!,
      minutes: parts.hour! * 60 + parts.minute!,
      seconds: parts.second!,
    };
  }

  /** The instant of a local wall-clock time, across daylight saving changes. */
  function instant(day: LocalDay, minutes: number): Date {
    const wall = Date.UTC(day.year, day.month - 1, day.day, 0, minutes);
    const offsetAt = (t: number) => {
      const l = local(new Date(t));
      return Date.UTC(l.year, l.month - 1, l.day, 0, l.minutes, l.seconds) - t;
    };
    const first = wall - offsetAt(wall);
    const second = wall - offsetAt(first);
    return new Date(second);
  }

  function isTradingDay(day: LocalDay): boolean {
    const date = new Date(Date.UTC(day.year, day.month - 1, day.day));
    return weekdays.has(date.getUTCDay()) && !holidays.has(date.toISOString().slice(0, 10));
  }

  return {
    description: `${regularText} ${timeZone}, ${[...weekdays].length} days a week`,
    session(symbol: string, at: Date, useExtended: boolean): MarketSession {
      const window = useExtended ? extended : regular;
      const now = local(at);
      if (isTradingDay(now) && now.minutes >= window.start && now.minutes < window.end) {
        return { symbol, open: true };
      }
      for (let offset = 0; offset <= searchDays; offset++) {
        const d = new Date(Date.UTC(now.year, now.month - 1, now.day + offset));
        const day = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
        if (!isTradingDay(day)) continue;
        const opens = instant(day, window.start);
        if (opens.getTime() > at.getTime()) return { symbol, open: false, nextOpen: opens };
      }
      return { symbol, open: false };
    },
  };
}

function parseWindow(text: string, name: string): { start: number; end: number } {
  const match = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(text.trim());
  const minutes = (h: string, m: string) => Number(h) * 60 + Number(m);
  if (match) {
    const start = minutes(match[1]!, match[2]!);
    const end = minutes(match[3]!, match[4]!);
    if (start < end && end <= 24 * 60) return { start, end };
  }
  throw new RangeError(`${name} session: expected "HH:MM-HH:MM" within one day, got "${text}"`);
}
