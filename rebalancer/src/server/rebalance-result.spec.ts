import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ExecutionMode,
  OrderSide,
  OrderStatus,
  RebalanceRequestSchema,
  RebalanceResponseSchema,
  RunStatus,
} from "@mesh/proto/rebalancer/v1/rebalancer";
import type { RebalanceResponse } from "@mesh/proto/rebalancer/v1/rebalancer";
import { expect } from "chai";
import { rebalanceResult } from "./rebalance-result.js";

type EventInit = MessageInitShape<typeof RebalanceResponseSchema>["event"];

async function* stream(...events: EventInit[]): AsyncGenerator<RebalanceResponse> {
  let sequence = 0;
  for (const event of events) {
    sequence++;
    yield create(RebalanceResponseSchema, {
      runId: "run-9",
      sequence,
      time: timestampFromDate(new Date(Date.UTC(2025, 0, 2, 15, 0, sequence))),
      event,
    });
  }
}

const accepted = (mode: ExecutionMode): EventInit => ({
  case: "accepted",
  value: { accountId: "DU1", mode },
});
const plan: EventInit = {
  case: "plan",
  value: {
    plan: {
      orders: [
        { symbol: "QQQ", side: OrderSide.SELL, quantity: 3, price: 400.335, marketValue: 1201.01 },
        { symbol: "EDC", side: OrderSide.BUY, quantity: 10, price: 40, marketValue: 400 },
      ],
    },
  },
};
const request = (mode = ExecutionMode.DRY_RUN) =>
  create(RebalanceRequestSchema, { accountId: "DU1", mode });

describe("rebalanceResult", () => {
  it("answers a dry run with its planned orders and the final event's time", async () => {
    const result = await rebalanceResult(
      request(),
      stream(accepted(ExecutionMode.DRY_RUN), plan, {
        case: "completed",
        value: { status: RunStatus.COMPLETED, message: "planned" },
      }),
    );
    expect(result).to.deep.equal({
      account_id: "DU1",
      execution_mode: "dry_run",
      orders: [
        { symbol: "QQQ", quantity: 3, action: "SELL", market_value: 1201.01 },
        { symbol: "EDC", quantity: 10, action: "BUY", market_value: 400 },
      ],
      status: "completed",
      message: "planned",
      timestamp: "2025-01-02T15:00:03.000Z",
      run_id: "run-9",
    });
  });

  it("values live orders at what filled, rounded half away from zero to cents", async () => {
    const result = await rebalanceResult(
      request(ExecutionMode.LIVE),
      stream(accepted(ExecutionMode.LIVE), plan, {
        case: "completed",
        value: {
          status: RunStatus.COMPLETED_WITH_ADJUSTMENTS,
          message: "adjusted",
          orders: [
            // 3 x 400.335 = 1201.005 in decimal, 1201.0049999... in binary floating point.
            {
              symbol: "QQQ",
              side: OrderSide.SELL,
              quantity: 3,
              status: OrderStatus.FILLED,
              filledQuantity: 3,
              averageFillPrice: 400.335,
            },
            { symbol: "EDC", side: OrderSide.BUY, quantity: 10, status: OrderStatus.CANCELLED },
          ],
        },
      }),
    );
    expect(result.execution_mode).to.equal("live");
    expect(result.status).to.equal("completed_with_adjustments");
    expect(result.orders).to.deep.equal([
      { symbol: "QQQ", quantity: 3, action: "SELL", market_value: 1201.01 },
      // Nothing filled: the planned value stands.
      { symbol: "EDC", quantity: 10, action: "BUY", market_value: 400 },
    ]);
  });

  it("reports a failed run with the orders placed before the failure", async () => {
    const result = await rebalanceResult(
      request(ExecutionMode.LIVE),
      stream(accepted(ExecutionMode.LIVE), plan, {
        case: "failed",
        value: {
          message: "sell of 3 QQQ rejected",
          orders: [
            { symbol: "QQQ", side: OrderSide.SELL, quantity: 3, status: OrderStatus.REJECTED },
          ],
        },
      }),
    );
    expect(result).to.include({ status: "failed", message: "sell of 3 QQQ rejected" });
    expect(result.orders).to.have.length(1);
  });

  it("reports a postponed run with no orders", async () => {
    const result = await rebalanceResult(
      request(ExecutionMode.LIVE),
      stream(accepted(ExecutionMode.LIVE), {
        case: "postponed",
        value: { message: "NYSE closed" },
      }),
    );
    expect(result).to.include({ status: "postponed", message: "NYSE closed" });
    expect(result.orders).to.deep.equal([]);
  });

  it("takes the mode of the run that answered, e.g. a replayed live run", async () => {
    const result = await rebalanceResult(
      request(ExecutionMode.DRY_RUN),
      stream(accepted(ExecutionMode.LIVE), {
        case: "completed",
        value: { status: RunStatus.COMPLETED },
      }),
    );
    expect(result.execution_mode).to.equal("live");
  });

  it("fails as internal when the stream ends before a final event", async () => {
    try {
      await rebalanceResult(request(), stream(accepted(ExecutionMode.DRY_RUN), plan));
      expect.fail("expected an error");
    } catch (error) {
      expect(ConnectError.from(error).code).to.equal(Code.Internal);
      expect(ConnectError.from(error).rawMessage).to.contain("run run-9");
    }
  });
});
