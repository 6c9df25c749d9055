// The planning module's public API. Everything under private/ is internal.
export { applyReplacements, WEIGHT_SUM_TOLERANCE } from "./apply-replacements.js";
export {
  floorShares,
  roundMoney,
  roundWeight,
  sharesFor,
  SHARE_EPSILON,
  sumMoney,
  toCents,
  valueOf,
} from "./money.js";
export { plan } from "./plan.js";
export { fitBuysToCash, type FittedBuys } from "./private/fit-buys-to-cash.js";
export type { Plan } from "./plan-result.js";
export { planBuys } from "./plan-buys.js";
export { PlanError } from "./plan-error.js";
export type { PlanErrorCode } from "./plan-error.js";
export type { PlanInput } from "./plan-input.js";
export type { PlanSettings } from "./plan-settings.js";
export type { PlannedOrder } from "./planned-order.js";
export type { Replacement } from "./replacement.js";
export type { ProjectedWeight } from "./projected-weight.js";
export type { Target } from "./target.js";
