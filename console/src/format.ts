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

/** A time in the browser's zone, or "—" when unset. */
export function formatTime(time: Timestamp | undefined): string {
  if (time === undefined) return "—";
  return timestampDate(time).toLocaleString("en-GB", { dateStyle: "short", timeStyle: "medium" });
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
