// IB error codes in the execution layer's terms. Codes from the TWS API "Message Codes" list.

import { IBApiNextError } from "@stoqey/ib";
import { BrokerError, type BrokerErrorCode } from "../broker-error.js";

const CODES: Record<number, BrokerErrorCode> = {
  200: "no_such_symbol", // No security definition has been found for the request
  354: "no_market_data", // Requested market data is not subscribed
  10168: "no_market_data", // ... delayed market data is not enabled
  10197: "no_market_data", // No market data during competing live session
  201: "order_rejected", // Order rejected - reason: ...
  203: "order_rejected", // The security is not available or allowed for this account
  103: "order_rejected", // Duplicate order id
  110: "order_rejected", // The price does not conform to the minimum price variation
  326: "unavailable", // Client id is already in use
  502: "unavailable", // Couldn't connect to TWS
  504: "unavailable", // Not connected
  1100: "unavailable", // Connectivity between IB and TWS has been lost
  1300: "unavailable", // TWS socket port has been reset
  2110: "unavailable", // Connectivity between TWS and server is broken
};

/**
 * Codes that reject a new order, but only when they answer its placeOrder (before TWS confirmed
 * it). Anything else on an order id is a warning: the order's state comes from its status.
 * 321, 434 and 10349 are left out on purpose (IB sends them on orders that keep working).
 */
export const ORDER_REJECT_CODES: ReadonlySet<number> = new Set([
  103, 110, 200, 201, 203, 382, 383, 460, 10149, 10268, 10289, 10293,
]);

/** A cancel or modify that could not be done: the order is unchanged; ask TWS for its status. */
export const REQUEST_REFUSED_CODES: ReadonlySet<number> = new Set([
  104, 105, 135, 161, 2102, 10147, 10148,
]);

/** Informational codes: a warning attached to a request that still goes on. */
export function isIbWarning(code: number, message = ""): boolean {
  return (
    (code >= 2100 && code < 3000) ||
    [399, 10090, 10167].includes(code) ||
    message.includes("Warning:")
  );
}

/** The reason part of "Order rejected - reason:..." (the whole text when there is none). */
export function rejectionReason(message: string): string {
  const match = /reason:\s*(.*)$/s.exec(message);
  return (match?.[1] ?? "").trim() || message.trim();
}

/** A BrokerError for an IB error code; `context` says what was being done. */
export function brokerErrorFromIb(code: number, message: string, context: string): BrokerError {
  const kind = CODES[code] ?? "internal";
  const text = kind === "order_rejected" ? rejectionReason(message) : message;
  return new BrokerError(kind, `${context}: ${text} (IB ${code})`, kind === "unavailable", code);
}

/** Any error from the library or rxjs as a BrokerError. */
export function toBrokerError(error: unknown, context: string): BrokerError {
  if (error instanceof BrokerError) return error;
  if (error instanceof IBApiNextError)
    return brokerErrorFromIb(error.code, error.error.message, context);
  const message = error instanceof Error ? error.message : String(error);
  return new BrokerError("internal", `${context}: ${message}`);
}
