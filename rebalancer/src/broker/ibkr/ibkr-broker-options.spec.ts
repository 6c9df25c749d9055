import { expect } from "chai";
import { resolveIbkrBrokerOptions } from "./ibkr-broker-options.js";

describe("IBKR broker options", () => {
  it("fills in the documented defaults", () => {
    expect(resolveIbkrBrokerOptions({ host: "ib-gateway", port: 4004, clientId: 7 })).to.deep.equal(
      {
        host: "ib-gateway",
        port: 4004,
        clientId: 7,
        connectTimeoutMs: 10_000,
        reconnectInitialDelayMs: 1_000,
        reconnectMaxDelayMs: 30_000,
        onClientIdInUse: "retry",
        orderIdBase: 1_000_000,
        maxRequestsPerSecond: 40,
        snapshotTimeoutMs: 11_000,
        requestTimeoutMs: 10_000,
        heartbeatIntervalMs: 5_000,
        heartbeatTimeoutMs: 5_000,
        keepAliveDelayMs: 10_000,
        informationalCodes: [],
      },
    );
  });

  it("names every option that cannot work", () => {
    expect(() =>
      resolveIbkrBrokerOptions({
        host: "",
        port: 0,
        clientId: -1,
        requestTimeoutMs: 0,
        accountIds: [],
      }),
    ).to.throw(
      "invalid IBKR broker options: host is empty; port must be 1-65535, got 0; clientId must be a non-negative integer, got -1; requestTimeoutMs must be positive, got 0; accountIds is empty; leave it out to allow all",
    );
  });
});
