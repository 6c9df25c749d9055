// How the console shows the API's values. Money arrives rounded to cents and weights as
// fractions in [0, 1] (see rebalancer.proto); nothing here rounds for calculation, only for show.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";

/** Money with its currency, e.g. "$12,345.60"; an unknown currency code shows as a suffix. */
export function formatMoney(value: number, currency = "USD"): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency}`;
  }
}

/** A price as quoted: at least two decimals, up to four. */
export function formatPrice(value: number): string {
  return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 });
}

/** A weight (fraction) as a percentage with one decimal, e.g. 0.2513 → "25.1%". */
export function formatWeight(weight: number): string {
  return `${(weight * 100).toFixed(1)}%`;
}

/** Shares: whole numbers as such, fractional holdings with up to four decimals. */
export function formatQuantity(quantity: number): string {
  return quantity.toLocaleString("en-US", { maximumFractionDigits: 4 });
}

/** A count with thousands separators: 12,345. */
export function formatCount(count: number): string {
  return count.toLocaleString("en-US", { maximumFractionDigits: 0 });
}

/**
 * A time in ISO form in the browser's zone, with the zone's offset: "2026-12-01 14:05 UTC+01:00"
 * ("UTC" alone at offset 0); "—" when unset. `zoneOffsetMinutes` is for tests.
 */
export function formatTime(time: Timestamp | undefined, zoneOffsetMinutes?: number): string {
  if (time === undefined) return "—";
  const date = timestampDate(time);
  // getTimezoneOffset is minutes *behind* UTC: Paris in winter is -60.
  const offset = zoneOffsetMinutes ?? -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const day = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const clock = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
  const sign = offset < 0 ? "-" : "+";
  const zone =
    offset === 0
      ? "UTC"
      : `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${day} ${clock} ${zone}`;
}

/** A time of day with milliseconds, for event streams. */
export function formatClock(time: Timestamp | undefined): string {
  if (time === undefined) return "—";
  const date = timestampDate(time);
  const ms = String(date.getMilliseconds()).padStart(3, "0");
  return `${date.toLocaleTimeString("en-GB")}.${ms}`;
}

/**
 * A generated enum value as words: `enumLabel(RunStatus, RunStatus.COMPLETED_WITH_ADJUSTMENTS)`
 * gives "completed with adjustments". Values the console does not know show as their number.
 */
export function enumLabel(enumObject: object, value: number): string {
  const name = (enumObject as Record<number, string | undefined>)[value];
  return name === undefined ? String(value) : name.toLowerCase().replaceAll("_", " ");
}
