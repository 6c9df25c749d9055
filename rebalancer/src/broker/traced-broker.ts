import { withActiveSpan } from "@mesh/platform/active-span";
import { SpanKind, trace, type Attributes, type Tracer } from "@opentelemetry/api";
import type { Broker } from "./broker.js";

/**
 * A broker whose every call is a CLIENT span (`broker.<method>`), so a trace shows what was read
 * from the broker and which orders were placed, with their symbol, side, quantity and id.
 */
export function traceBroker(broker: Broker, tracer: Tracer = trace.getTracer("broker")): Broker {
  async function span<T>(
    name: string,
    attributes: Attributes,
    call: () => Promise<T>,
    after?: (result: T) => Attributes,
  ): Promise<T> {
    return withActiveSpan(
      tracer,
      `broker.${name}`,
      { kind: SpanKind.CLIENT, attributes: { "broker.name": broker.name, ...attributes } },
      async (s) => {
        const result = await call();
        if (after) s.setAttributes(after(result));
        return result;
      },
    );
  }
  return {
    name: broker.name,
    health: () => broker.health(),
    holdings: (accountId) =>
      span(
        "holdings",
        { "account.id": accountId },
        () => broker.holdings(accountId),
        (h) => ({
          "broker.holdings": h.length,
        }),
      ),
    accountValues: (accountId) =>
      span("accountValues", { "account.id": accountId }, () => broker.accountValues(accountId)),
    quotes: (symbols) =>
      span(
        "quotes",
        { "broker.symbols": symbols },
        () => broker.quotes(symbols),
        (q) => ({
          "broker.quotes": q.size,
        }),
      ),
    sessions: (symbols, at, extended) =>
      span("sessions", { "broker.symbols": symbols, "broker.extended_hours": extended }, () =>
        broker.sessions(symbols, at, extended),
      ),
    openOrders: (accountId) =>
      span(
        "openOrders",
        { "account.id": accountId },
        () => broker.openOrders(accountId),
        (o) => ({
          "broker.open_orders": o.length,
        }),
      ),
    placeOrder: (request) =>
      span(
        "placeOrder",
        {
          "account.id": request.accountId,
          "order.symbol": request.symbol,
          "order.side": request.side,
          "order.quantity": request.quantity,
          "order.type": request.orderType,
          "run.id": request.runId,
        },
        () => broker.placeOrder(request),
        (order) => ({ "order.id": order.orderId, "order.status": order.status }),
      ),
    ...(broker.preflight && {
      preflight: (request) =>
        span(
          "preflight",
          {
            "account.id": request.accountId,
            "order.symbol": request.symbol,
            "order.side": request.side,
            "order.quantity": request.quantity,
            "order.type": request.orderType,
          },
          () => broker.preflight!(request),
          (check) => ({
            "preflight.accepted": check.accepted,
            "preflight.initial_margin_change": check.initialMarginChange,
          }),
        ),
    }),
    cancelOrder: (orderId) =>
      span("cancelOrder", { "order.id": orderId }, () => broker.cancelOrder(orderId)),
    runActivity: (accountId, runId, since) =>
      span(
        "runActivity",
        { "account.id": accountId, "run.id": runId },
        () => broker.runActivity(accountId, runId, since),
        (a) => ({ "broker.orders": a.orders.length, "broker.fills": a.fills.length }),
      ),
    onOrderEvent: (listener) => broker.onOrderEvent(listener),
    close: () => broker.close(),
  };
}
