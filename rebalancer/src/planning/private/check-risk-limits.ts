import { sumMoney } from "../money.js";
import { PlanError } from "../plan-error.js";
import type { PlanSettings } from "../plan-settings.js";
import type { PlannedOrder } from "../planned-order.js";
import { formatMoney } from "./format.js";

/**
 * Refuses the plan (`PlanError("risk_limit")`) when an order is worth more than
 * `maxOrderValue` or the total traded value is more than `maxTurnoverPercent` of net
 * liquidation. A cap of 0 is no cap. Checked on the final orders, after buys fit the cash.
 */
export function checkRiskLimits(
  orders: ReadonlyArray<PlannedOrder>,
  netLiquidation: number,
  settings: PlanSettings,
): void {
  const { maxOrderValue, maxTurnoverPercent } = settings;
  if (maxOrderValue > 0) {
    let largest: PlannedOrder | undefined;
    let over = 0;
    for (const order of orders) {
      if (order.value <= maxOrderValue) continue;
      over += 1;
      if (largest === undefined || order.value > largest.value) largest = order;
    }
    if (largest !== undefined) {
      throw new PlanError(
        "risk_limit",
        `${largest.side} of ${largest.quantity} ${largest.symbol} worth ` +
          `${formatMoney(largest.value)} is above the maximum order value ` +
          `${formatMoney(maxOrderValue)}` +
          (over > 1 ? ` (${over} orders are above it)` : ""),
      );
    }
  }
  if (maxTurnoverPercent > 0) {
    const traded = sumMoney(orders.map((order) => order.value));
    const turnover = (traded / netLiquidation) * 100;
    if (turnover > maxTurnoverPercent) {
      throw new PlanError(
        "risk_limit",
        `turnover of ${formatMoney(traded)} is ${turnover.toFixed(2)}% of net liquidation ` +
          `${formatMoney(netLiquidation)}, above the cap of ${maxTurnoverPercent}%`,
      );
    }
  }
}
